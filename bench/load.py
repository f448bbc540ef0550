"""One load: `bench.loadgen` in a process of its own, and what the machine did meanwhile.

Every subprocess here runs this venv's own executables with arguments built here.
"""

# ruff: noqa: S603

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BIN, ROOT, log
from bench.server_phases import read_histograms, spent
from bench.servers import Server
from bench.watch import Watch, WatchTarget, cpu_seconds, cpu_used


@dataclass
class LoadSettings:
    seconds: float
    warmup: float
    connections: int


def _machine_ticks() -> list[int]:
    """/proc/stat's first line: user nice system idle iowait irq softirq steal …"""
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def _machine_share(before: list[int], after: list[int]) -> dict[str, float]:
    """Cores busy, idle (iowait included) and stolen by the hypervisor, over the interval."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    cores = (os.cpu_count() or 1) / max(sum(delta), 1)
    user, nice, system, idle, iowait, irq, softirq, steal = delta
    return {
        "busy": (user + nice + system + irq + softirq) * cores,
        "idle": (idle + iowait) * cores,
        "steal": steal * cores,
    }


def _postgres_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


def run_load(
    settings: LoadSettings,
    plan: dict[str, Any],
    server: Server | None = None,
    watch: WatchTarget | None = None,
) -> dict[str, Any]:
    """Run bench.loadgen in its own process with this plan; its JSON result.

    With `server`, also the CPU seconds its processes (and PostgreSQL's) used meanwhile,
    and for Bookpay its own count of where the busiest route's requests spent their time
    (bench/server_phases.py, warm-up included) under "phases"; with `watch`, what the
    database side did (bench/watch.py) under "database".
    """
    plan = {
        "connections": settings.connections,
        "seconds": settings.seconds,
        "warmup_seconds": settings.warmup,
        **plan,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(plan, handle)
    server_pids = server.processes() if server else []
    counts_phases = server is not None and server.name == "bookpay"
    phases_before = read_histograms(server) if server is not None and counts_phases else {}
    server_cpu, postgres_cpu = cpu_seconds(server_pids), cpu_seconds(_postgres_pids())
    machine = _machine_ticks()
    wall = time.perf_counter()
    watching = Watch(watch) if watch is not None else None
    try:
        if watching is not None:
            watching.start()
        completed = subprocess.run(
            [str(BIN / "python"), "-m", "bench.loadgen", handle.name],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=settings.seconds + settings.warmup + 120,
        )
    finally:
        if watching is not None:
            watching.stop()
        Path(handle.name).unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(completed.stdout)
    wall = time.perf_counter() - wall
    result["wall_seconds"] = wall
    result["connections"] = settings.connections
    if watching is not None:
        result["database"] = watching.result
    result["machine"] = _machine_share(machine, _machine_ticks())
    server_after = cpu_seconds(server_pids)
    if server is not None and counts_phases:
        result["phases"] = spent(phases_before, read_histograms(server))
    result["server_cpu_seconds"] = cpu_used(server_cpu, server_after)
    result["server_cpu_share"] = result["server_cpu_seconds"] / wall
    result["server_cpu_by_process"] = [
        round((value - server_cpu.get(pid, 0.0)) / wall, 2)
        for pid, value in sorted(server_after.items())
        if value - server_cpu.get(pid, 0.0) > 0.01 * wall
    ]
    result["postgres_cpu_share"] = cpu_used(postgres_cpu, cpu_seconds(_postgres_pids())) / wall
    result["client_cpu_share"] = result["client_cpu_seconds"] / wall
    summary = {k: v for k, v in result.items() if k != "sent_booking_ids"}
    log(
        f"  {plan['label']}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']} "
        f"(+{result['warmup_errors']} in warm-up); cpu (cores): server "
        f"{result['server_cpu_share']:.2f} {result['server_cpu_by_process']}, "
        f"postgres {result['postgres_cpu_share']:.2f}, "
        f"client {result['client_cpu_share']:.2f}; machine: busy "
        f"{result['machine']['busy']:.2f}, idle {result['machine']['idle']:.2f}, steal "
        f"{result['machine']['steal']:.2f}"
        + (f" ({result['first_error']})" if result["first_error"] else "")
    )
    if watching is not None:
        log(f"    database side: {_brief(result['database'])}")
    result["summary"] = summary
    return result


def _brief(found: dict[str, Any]) -> str:
    """The watch's figures on one line of the log."""
    return ", ".join(
        f"{key} {value:.2f}" if isinstance(value, float) else f"{key} {value}"
        for key, value in found.items()
    )
