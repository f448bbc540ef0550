"""The benchmark runner behind `make bench`: real servers, a separate load process, one report.

For each database (PostgreSQL, SQLite) and worker count (1, 2) it creates a throwaway
database, serves the calibration app (bench/calibration.py) and then `bookpay serve` on it
with uvicorn, drives both from `bench.loadgen` in another process, checks in the database
that every webhook was applied exactly once, and reads the peak resident memory of every
server process. Then it measures growth (1 thousand vs 1 million bookings, PostgreSQL),
fee quotes in-process, optionally profiles with py-spy, and writes docs/benchmarks.md.

    .venv/bin/python -m bench.run [--seconds 8] [--warmup 2] [--connections 16]
"""

# Every subprocess here runs this venv's own executables with arguments built here.
# ruff: noqa: S603

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import create_engine
from bench import calibration
from bench.seed import (
    BenchTenant,
    WebhookCheck,
    check_webhooks_applied,
    count_bookings,
    seed_history,
    seed_pending_bookings,
)
from domain.fees import FeeBearer, FeePolicy, RefundOnCancel, Tier, TierMode
from domain.money import Money

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BOOKPAY = BIN / "bookpay"
ADMIN_KEY = "bp_admin_bench_" + "b" * 24
WEBHOOK_SECRET = "whsec_bench_platform"  # noqa: S105 - a throwaway local server's
CONNECT_SECRET = "whsec_bench_connect"  # noqa: S105
POSTGRES_SERVER = os.environ.get(
    "BOOKPAY_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
T = TypeVar("T")
PRICE = Money(2000, "usd")
POLICY = FeePolicy(percent_bps=500, fixed=Money(30, "usd"))
FUTURE_SLOTS = 60
WEBHOOK_BOOKINGS = 15_000
DUPLICATE_SHARE = 0.2


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- Databases ----------------------------------------------------------------------------


async def _postgres_admin(statement: str) -> None:
    url = make_url(POSTGRES_SERVER)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def throwaway_database(kind: str) -> Iterator[str]:
    """A fresh, migrated database URL, dropped (or deleted) afterwards."""
    if kind == "postgres":
        name = f"bookpay_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
        try:
            _migrate(url)
            yield url
        finally:
            asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        folder = Path(tempfile.mkdtemp(prefix="bookpay_bench_"))
        url = f"sqlite+aiosqlite:///{folder / 'bookpay.db'}"
        try:
            _migrate(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _migrate(url: str) -> None:
    env = {
        **os.environ,
        "BOOKPAY_DATABASE_URL": url,
        "BOOKPAY_GATEWAY": "fake",
        # The load comes from one address; the bench measures throughput, not the limiter.
        "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "0",
    }
    subprocess.run([str(BOOKPAY), "migrate"], env=env, check=True, capture_output=True)

    async def create_calibration_table() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(calibration.metadata.create_all)
        finally:
            await engine.dispose()

    asyncio.run(create_calibration_table())


def with_engine(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` with an engine of its own, in a fresh event loop, and dispose of it."""

    async def run() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


# --- Servers ------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def processes(self) -> list[int]:
        """This server's processes: the one we started and all its descendants."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return sorted(found)

    def memory(self) -> list[dict[str, Any]]:
        """Peak resident memory (VmHWM) of every process serving requests."""
        rows = []
        for pid in self.processes():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            if "resource_tracker" in cmdline:
                continue
            hwm = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
            )
            role = "worker" if "spawn_main" in cmdline else "main"
            rows.append({"pid": pid, "role": role, "peak_mb": hwm / 1024})
        return rows


def start_server(name: str, command: list[str], env: dict[str, str], port: int) -> Server:
    log_path = Path(tempfile.mkstemp(prefix=f"bench_{name}_", suffix=".log")[1])
    handle = log_path.open("wb")
    process = subprocess.Popen(
        command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(name, port, process, log_path)
    deadline = time.monotonic() + 60
    ready = "/health/ready" if name == "bookpay" else "/json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{server.base_url}{ready}", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"{name} did not become ready:\n{log_path.read_text()}")


def stop_server(server: Server) -> None:
    """SIGTERM to the process we started (uvicorn stops its workers), then its group."""
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
    server.log_path.unlink(missing_ok=True)


def server_env(url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "BOOKPAY_DATABASE_URL": url,
        "BOOKPAY_GATEWAY": "fake",
        "BOOKPAY_ADMIN_API_KEY": ADMIN_KEY,
        "BOOKPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_SECRET,
        "BOOKPAY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "BOOKPAY_SWEEP_SECONDS": "0",
    }


def _launcher(nodelay: bool, program: str) -> list[str]:
    """`bookpay`/`uvicorn` as installed, or through bench.nodelay (see its docstring)."""
    if nodelay:
        return [str(BIN / "python"), "-m", "bench.nodelay", program]
    if program == "bookpay":
        return [str(BOOKPAY)]
    return [str(BIN / "python"), "-m", "uvicorn"]


def bookpay_command(port: int, workers: int, nodelay: bool = False) -> list[str]:
    return [
        *_launcher(nodelay, "bookpay"),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def calibration_command(port: int, workers: int, nodelay: bool = False) -> list[str]:
    # The same server settings `bookpay serve` passes to uvicorn.run (log level info, no
    # access log, default loop and HTTP implementation).
    # With several workers, through bench.nodelay: it makes uvicorn's shared listening
    # socket a TCP socket, exactly as `bookpay serve` does itself (finding 2).
    return [
        *_launcher(nodelay or workers > 1, "uvicorn"),
        "bench.calibration:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--no-access-log",
    ]


# --- Load ---------------------------------------------------------------------------------


@dataclass
class LoadSettings:
    seconds: float
    warmup: float
    connections: int


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


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


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def run_load(
    settings: LoadSettings, plan: dict[str, Any], server: Server | None = None
) -> dict[str, Any]:
    """Run bench.loadgen in its own process with this plan; its JSON result.

    With `server`, also the CPU seconds its processes (and PostgreSQL's) used meanwhile.
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
    server_cpu, postgres_cpu = _cpu_seconds(server_pids), _cpu_seconds(_postgres_pids())
    machine = _machine_ticks()
    wall = time.perf_counter()
    try:
        completed = subprocess.run(
            [str(BIN / "python"), "-m", "bench.loadgen", handle.name],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=settings.seconds + settings.warmup + 120,
        )
    finally:
        Path(handle.name).unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(completed.stdout)
    wall = time.perf_counter() - wall
    result["machine"] = _machine_share(machine, _machine_ticks())
    server_after = _cpu_seconds(server_pids)
    result["server_cpu_share"] = _cpu_used(server_cpu, server_after) / wall
    result["server_cpu_by_process"] = [
        round((value - server_cpu.get(pid, 0.0)) / wall, 2)
        for pid, value in sorted(server_after.items())
        if value - server_cpu.get(pid, 0.0) > 0.01 * wall
    ]
    result["postgres_cpu_share"] = _cpu_used(postgres_cpu, _cpu_seconds(_postgres_pids())) / wall
    result["client_cpu_share"] = result["client_cpu_seconds"] / wall
    summary = {k: v for k, v in result.items() if k != "sent_booking_ids"}
    log(
        f"  {plan['label']}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']}; cpu (cores): server "
        f"{result['server_cpu_share']:.2f} {result['server_cpu_by_process']}, "
        f"postgres {result['postgres_cpu_share']:.2f}, "
        f"client {result['client_cpu_share']:.2f}; machine: busy "
        f"{result['machine']['busy']:.2f}, idle {result['machine']['idle']:.2f}, steal "
        f"{result['machine']['steal']:.2f}"
        + (f" ({result['first_error']})" if result["errors"] else "")
    )
    result["summary"] = summary
    return result


# --- Bookpay setup over HTTP --------------------------------------------------------------


def set_up_tenant(server: Server, slug: str) -> BenchTenant:
    """The e2e journey's first steps: tenant, onboarding via the fake pages, offering, slots."""
    admin = httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    )
    created = admin.post(
        "/v1/admin/tenants",
        json={
            "name": "Bench Studio",
            "slug": slug,
            "country": "US",
            "default_currency": "usd",
            "timezone": "America/New_York",
            "fee_policy": {
                "percent_bps": POLICY.percent_bps,
                "fixed": {"amount": 30, "currency": "usd"},
                "bearer": "customer",
                "refund_on_cancel": "proportional",
            },
        },
    )
    created.raise_for_status()
    body = created.json()
    tenant = httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {body['api_key']}"},
        timeout=30,
    )
    link = tenant.post("/v1/tenant/connect/onboarding-link")
    link.raise_for_status()
    httpx.post(link.json()["url"], follow_redirects=False, timeout=30)
    deadline = time.monotonic() + 30
    while not tenant.get("/v1/tenant/connect/status").json()["charges_enabled"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the bench tenant never finished onboarding")
        time.sleep(0.1)
    offering = tenant.post(
        "/v1/tenant/offerings",
        json={
            "name": "Bench class",
            "price": {"amount": PRICE.amount, "currency": PRICE.currency},
            "duration_minutes": 60,
            "capacity": 100_000,
        },
    )
    offering.raise_for_status()
    offering_id = offering.json()["id"]
    first = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    slots = tenant.post(
        f"/v1/tenant/offerings/{offering_id}/slots",
        json={
            "slots": [
                {"starts_at": (first + timedelta(hours=12 * n)).isoformat()}
                for n in range(FUTURE_SLOTS)
            ]
        },
    )
    slots.raise_for_status()
    admin.close()
    tenant.close()
    return BenchTenant(
        tenant_id=body["tenant"]["id"],
        slug=slug,
        offering_id=offering_id,
        slot_ids=[slot["id"] for slot in slots.json()["data"]],
        price=PRICE,
        policy=POLICY,
    )


def availability_plan(server: Server, tenant: BenchTenant, label: str) -> dict[str, Any]:
    path = f"/v1/public/{tenant.slug}/offerings/{tenant.offering_id}/slots"
    return {"label": label, "kind": "get", "port": server.port, "paths": [path]}


def checkout_plan(server: Server, tenant: BenchTenant, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "kind": "checkout",
        "port": server.port,
        "slug": tenant.slug,
        "slot_ids": tenant.slot_ids,
    }


# --- Measurements -------------------------------------------------------------------------


@dataclass
class ConfigResult:
    database: str
    workers: int
    nodelay: bool = False

    @property
    def label(self) -> str:
        return f"{self.workers}{' + NODELAY' if self.nodelay else ''}"

    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    memory: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: WebhookCheck | None = None


def measure_configuration(
    database: str, workers: int, load: LoadSettings, nodelay: bool = False
) -> ConfigResult:
    result = ConfigResult(database, workers, nodelay)
    log(f"{database}, {workers} worker(s){' + TCP_NODELAY (bench.nodelay)' if nodelay else ''}")
    with throwaway_database(database) as url:
        port = free_port()
        ceiling = start_server(
            "calibration",
            calibration_command(port, workers, nodelay),
            server_env(url, port),
            port,
        )
        try:
            result.figures["ceiling_json"] = run_load(
                load,
                {"label": "ceiling: bare JSON", "kind": "get", "port": port, "paths": ["/json"]},
                ceiling,
            )["summary"]
            result.figures["ceiling_insert"] = run_load(
                load,
                {
                    "label": "ceiling: one-row insert",
                    "kind": "post",
                    "port": port,
                    "path": "/insert",
                },
                ceiling,
            )["summary"]
            result.memory["calibration"] = ceiling.memory()
        finally:
            stop_server(ceiling)

        port = free_port()
        server = start_server(
            "bookpay", bookpay_command(port, workers, nodelay), server_env(url, port), port
        )
        try:
            tenant = set_up_tenant(server, "bench-studio")
            pending = with_engine(
                url, lambda engine: seed_pending_bookings(engine, tenant, WEBHOOK_BOOKINGS)
            )
            result.figures["availability"] = run_load(
                load, availability_plan(server, tenant, "availability"), server
            )["summary"]
            result.figures["checkout"] = run_load(
                load, checkout_plan(server, tenant, "checkout"), server
            )["summary"]
            webhooks = run_load(
                load,
                {
                    "label": "webhooks",
                    "kind": "webhook",
                    "port": server.port,
                    "secret": WEBHOOK_SECRET,
                    "bookings": pending,
                    "duplicate_share": DUPLICATE_SHARE,
                },
                server,
            )
            result.figures["webhooks"] = webhooks["summary"]
            result.memory["bookpay"] = server.memory()
            sent = webhooks["sent_booking_ids"]
            result.webhooks = with_engine(
                url, lambda engine: check_webhooks_applied(engine, tenant, sent, len(pending))
            )
            log(f"  exactly once: {result.webhooks.exactly_once} {result.webhooks}")
        finally:
            stop_server(server)
    return result


@dataclass
class GrowthResult:
    small: int = 0
    large: int = 0
    seed_seconds: float = 0.0
    rounds: int = 0
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)


GROWTH_ROUNDS = 3


def _median_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over several runs; errors are added up."""
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "p99_each": [r["p99_ms"] for r in runs],
    }


def measure_growth(load: LoadSettings, history: int) -> GrowthResult:
    """Checkout and availability with 1 thousand and with `history` bookings (PostgreSQL).

    Two databases and two servers (1 worker each) run side by side, and the loads alternate
    between them in short rounds (small, large, small, large, …), so that the shared
    machine's drift from minute to minute falls on both sizes alike; each figure is the
    median over the rounds.
    """
    result = GrowthResult(rounds=GROWTH_ROUNDS)
    log(f"growth: 1 thousand vs {history:,} bookings, postgres, 1 worker each")
    small_size = 1_000
    short = LoadSettings(max(load.seconds / 2, 2.0), min(load.warmup, 1.0), load.connections)
    with throwaway_database("postgres") as small_url, throwaway_database("postgres") as large_url:
        servers: dict[str, tuple[Server, BenchTenant]] = {}
        try:
            anchor = datetime.now(UTC)
            for size, url, last in (
                ("small", small_url, small_size - 1),
                ("large", large_url, history - 1),
            ):
                port = free_port()
                server = start_server(
                    "bookpay", bookpay_command(port, 1), server_env(url, port), port
                )
                tenant = set_up_tenant(server, "growth-studio")
                servers[size] = (server, tenant)
                started = time.perf_counter()
                with_engine(
                    url, partial(seed_history, tenant=tenant, first=0, last=last, anchor=anchor)
                )
                if size == "large":
                    result.seed_seconds = time.perf_counter() - started
                    log(f"  seeded {history:,} bookings in {result.seed_seconds:.1f} s")
            result.small = with_engine(
                small_url, lambda e: count_bookings(e, servers["small"][1].tenant_id)
            )
            result.large = with_engine(
                large_url, lambda e: count_bookings(e, servers["large"][1].tenant_id)
            )
            for scenario, plan in (
                ("availability", availability_plan),
                ("checkout", checkout_plan),
            ):
                runs: dict[str, list[dict[str, Any]]] = {"small": [], "large": []}
                for round_number in range(GROWTH_ROUNDS):
                    for size, (server, tenant) in servers.items():
                        label = f"{scenario} @ {size} #{round_number + 1}"
                        runs[size].append(
                            run_load(short, plan(server, tenant, label), server)["summary"]
                        )
                for size, size_runs in runs.items():
                    result.figures[f"{scenario}_{size}"] = _median_summary(size_runs)
        finally:
            for server, _ in servers.values():
                stop_server(server)
    return result


def measure_fee_quotes(seconds: float) -> dict[str, dict[str, float]]:
    """FeePolicy.quote calls per second, in this process, for a simple and a tiered policy."""
    policies = {
        "5 % + 0.30, customer pays": POLICY,
        "marginal tiers, split, min/max": FeePolicy(
            percent_bps=100,
            per_seat_fixed=Money(25, "usd"),
            tiers=(
                Tier(up_to=Money(10_000, "usd"), percent_bps=800),
                Tier(up_to=Money(50_000, "usd"), percent_bps=500, fixed=Money(50, "usd")),
                Tier(up_to=None, percent_bps=300),
            ),
            tier_mode=TierMode.MARGINAL,
            minimum=Money(100, "usd"),
            maximum=Money(5_000, "usd"),
            bearer=FeeBearer(5_000),
            refund_on_cancel=RefundOnCancel.NEVER,
        ),
    }
    results: dict[str, dict[str, float]] = {}
    for name, policy in policies.items():
        quote: Callable[[Money, int], object] = policy.quote
        count = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            for seats in range(1, 101):
                quote(PRICE, seats)
            count += 100
        elapsed = time.perf_counter() - started
        results[name] = {
            "quotes_per_second": count / elapsed,
            "us_per_quote": elapsed / count * 1e6,
        }
        log(f"fee quotes ({name}): {count / elapsed:,.0f}/s")
    return results


# --- Profiling ----------------------------------------------------------------------------

PROJECT_PACKAGES = ("domain", "application", "adapters", "entrypoints")
LAYERS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("asyncpg", "asyncpg"),
    ("aiosqlite", "aiosqlite"),
    ("sqlite3", "sqlite3"),
    ("litestar", "Litestar"),
    ("msgspec", "msgspec"),
    ("h11", "uvicorn/h11"),
    ("uvicorn", "uvicorn/h11"),
    ("dependency_injector", "dependency-injector"),
    ("httpx", "httpx"),
    ("asyncio", "asyncio"),
    ("json", "json"),
    ("logging", "logging"),
)


def ensure_py_spy() -> Path | None:
    """py-spy from PyPI, into this venv only (not part of requirements.lock)."""
    py_spy = BIN / "py-spy"
    if not py_spy.exists():
        log("installing py-spy into the venv (profiling only)")
        installed = subprocess.run(
            [str(BIN / "pip"), "install", "--quiet", "py-spy"], check=False, capture_output=True
        )
        if installed.returncode != 0:
            log("py-spy could not be installed; skipping the profiles")
            return None
    return py_spy


def _frame_parts(frame: str) -> tuple[str, str]:
    """'function (path/to/file.py:12)' → ('function', 'path/to/file.py')."""
    name, _, rest = frame.partition(" (")
    return name, rest.rsplit(":", 1)[0]


def _project_path(path: str) -> str | None:
    parts = Path(path).parts
    for index, part in enumerate(parts):
        if part in PROJECT_PACKAGES and str(ROOT) in path and "site-packages" not in path:
            return "/".join(parts[index:])
    return None


def _layer(path: str) -> str:
    if _project_path(path):
        return "Bookpay (domain/application/adapters/entrypoints)"
    for needle, layer in LAYERS:
        if f"/{needle}/" in path or path.endswith(f"/{needle}.py"):
            return layer
    return "other (interpreter, stdlib)"


def summarize_profile(raw: str) -> dict[str, Any]:
    total = 0
    leaf: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    layers: dict[str, int] = {}
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        name, path = _frame_parts(frames[-1])
        key = f"{name} ({Path(path).name})"
        leaf[key] = leaf.get(key, 0) + count
        layers[_layer(path)] = layers.get(_layer(path), 0) + count
        seen: set[str] = set()
        for frame in frames:
            name, path = _frame_parts(frame)
            project = _project_path(path)
            if project is None:
                continue
            key = f"{project}:{name}"
            if key not in seen:
                seen.add(key)
                inclusive[key] = inclusive.get(key, 0) + count

    def top(counts: dict[str, int], n: int) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:n]
        return [(key, 100 * value / max(total, 1)) for key, value in ranked]

    return {
        "samples": total,
        "layers": top(layers, 12),
        "leaf": top(leaf, 12),
        "inclusive": top(inclusive, 18),
    }


def profile_bookpay(py_spy: Path, load: LoadSettings) -> dict[str, dict[str, Any]]:
    """py-spy over the worker while it takes checkouts, then webhooks (PostgreSQL, 1 worker)."""
    profiles: dict[str, dict[str, Any]] = {}
    log("profiling bookpay with py-spy (postgres, 1 worker)")
    with throwaway_database("postgres") as url:
        port = free_port()
        server = start_server("bookpay", bookpay_command(port, 1), server_env(url, port), port)
        try:
            tenant = set_up_tenant(server, "profile-studio")
            pending = with_engine(
                url, lambda engine: seed_pending_bookings(engine, tenant, WEBHOOK_BOOKINGS)
            )
            plans = {
                "checkout": checkout_plan(server, tenant, "checkout (profiled)"),
                "webhooks": {
                    "label": "webhooks (profiled)",
                    "kind": "webhook",
                    "port": server.port,
                    "secret": WEBHOOK_SECRET,
                    "bookings": pending,
                    "duplicate_share": DUPLICATE_SHARE,
                },
                "availability": availability_plan(server, tenant, "availability (profiled)"),
            }
            for scenario, plan in plans.items():
                output = Path(tempfile.mkstemp(prefix=f"bench_profile_{scenario}_")[1])
                recorder = subprocess.Popen(
                    [
                        str(py_spy),
                        "record",
                        "--pid",
                        str(server.process.pid),
                        "--rate",
                        "200",
                        "--duration",
                        str(int(load.seconds)),
                        "--format",
                        "raw",
                        "--output",
                        str(output),
                        "--nonblocking",
                        "--full-filenames",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(load.warmup)
                run_load(LoadSettings(load.seconds, 0, load.connections), plan, server)
                recorder.wait(timeout=60)
                profiles[scenario] = summarize_profile(output.read_text())
                output.unlink(missing_ok=True)
        finally:
            stop_server(server)
    return profiles


# --- The report ---------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {"Python": platform.python_version()}
    for package in ("litestar", "uvicorn", "SQLAlchemy", "asyncpg", "aiosqlite", "msgspec"):
        found[package] = version(package)
    found["SQLite"] = __import__("sqlite3").sqlite_version

    async def postgres_version() -> str:
        url = make_url(POSTGRES_SERVER)
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database=url.database
        )
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    found["PostgreSQL"] = asyncio.run(postgres_version())
    return found


def _machine() -> str:
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    return (
        f"{os.cpu_count()} cores ({model}), {memory_kb / 1024 / 1024:.1f} GiB memory, "
        f"{platform.system()} {platform.release()}"
    )


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _ratio(value: float, ceiling: float) -> str:
    return f"{100 * value / ceiling:.0f} %" if ceiling else "n/a"


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


@dataclass
class Report:
    started: datetime
    load: LoadSettings
    command: str
    configs: list[ConfigResult]
    growth: GrowthResult | None
    quotes: dict[str, dict[str, float]]
    profiles: dict[str, dict[str, Any]]
    runtime_seconds: float = 0.0
    targets: list[tuple[str, str, bool]] = field(default_factory=list)

    def evaluate(self) -> None:
        for config in self.configs:
            where = f"{config.database}, workers {config.label}"
            insert = config.figures["ceiling_insert"]["rps"]
            checkout = config.figures["checkout"]
            share = checkout["rps"] / insert if insert else 0
            self.targets.append(
                (
                    f"checkout ≥ 40 % of the one-insert ceiling, zero errors ({where})",
                    f"{100 * share:.0f} %, {checkout['errors']} errors",
                    share >= 0.4 and checkout["errors"] == 0,
                )
            )
            hooks = config.figures["webhooks"]
            share = hooks["rps"] / insert if insert else 0
            once = config.webhooks is not None and config.webhooks.exactly_once
            self.targets.append(
                (
                    f"webhooks ≥ 50 % of the one-insert ceiling, exactly once ({where})",
                    f"{100 * share:.0f} %, exactly once: {'yes' if once else 'NO'}, "
                    f"{hooks['errors']} errors",
                    share >= 0.5 and once and hooks["errors"] == 0,
                )
            )
            peak = max(row["peak_mb"] for row in config.memory["bookpay"])
            self.targets.append(
                (
                    f"peak memory ≤ 150 MB per server process ({where})",
                    f"{peak:.0f} MB",
                    peak <= 150,
                )
            )
        if self.growth is not None:
            small = self.growth.figures["availability_small"]["p99_ms"]
            large = self.growth.figures["availability_large"]["p99_ms"]
            self.targets.append(
                (
                    "availability p99 at 1M bookings ≤ 1.5 × at 1k (postgres, 1 worker, medians)",
                    f"{large / small:.2f} ×",
                    large <= 1.5 * small,
                )
            )

    def markdown(self) -> str:
        out: list[str] = []
        add = out.append
        add("# Benchmarks\n")
        add(
            "Generated by `make bench` (bench/run.py); do not edit by hand — the analysis at "
            "the end comes from bench/findings.md.\n"
        )
        add(f"- Run: {self.started:%Y-%m-%d %H:%M} UTC, {self.runtime_seconds / 60:.1f} minutes")
        add(f"- Machine: {_machine()} (shared: figures move from run to run)")
        add("- Versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()))
        add(
            f"- Load: `bench.loadgen` (an asyncio HTTP/1.1 load generator in its own process, "
            f"{self.load.connections} keep-alive connections, closed loop, each reopened "
            "every 50 requests so that connections spread over the workers), "
            f"{self.load.warmup:g} s warm-up then {self.load.seconds:g} s measured per figure; "
            "p50/p99 are per-request latencies seen by the client; errors are transport "
            "errors and unexpected statuses"
        )
        add(
            "- Servers: `bookpay serve --workers N` (uvicorn) with `BOOKPAY_GATEWAY=fake`, "
            "`BOOKPAY_SWEEP_SECONDS=0`; ceilings from `uvicorn bench.calibration:create_app "
            "--factory --workers N` on the same database (same engine factory); with several "
            "workers through `python -m bench.nodelay`, which gives uvicorn's shared listening "
            "socket TCP_NODELAY as `bookpay serve` now does itself (finding 2)"
        )
        add(f"- Command: `make bench` → `{self.command}`\n")

        add("## Targets\n")
        add("| target | measured | |")
        add("| --- | --- | --- |")
        for name, value, ok in self.targets:
            add(f"| {name} | {value} | {_mark(ok)} |")
        add("")

        add("## Throughput and latency\n")
        add(
            "Ratios: availability to the bare JSON ceiling, checkout and webhooks to the "
            "one-row insert ceiling, each measured on the same database and worker count "
            "minutes apart.\n"
        )
        add(
            "CPU is in cores, averaged over warm-up and measurement: the server's processes "
            "(per process in brackets), PostgreSQL's and the load generator's; then the "
            "whole machine's idle cores and the cores stolen by the hypervisor (the machine "
            "is shared: idle cores while the server is not saturated mean waiting).\n"
        )
        add(
            "| database | workers | scenario | req/s | p50 ms | p99 ms | errors | vs ceiling "
            "| CPU server [per process] / postgres / client | idle / steal |"
        )
        add("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
        names = {
            "ceiling_json": ("ceiling: bare JSON", None),
            "ceiling_insert": ("ceiling: one-row insert", None),
            "availability": ("availability (GET …/slots, 60 slots)", "ceiling_json"),
            "checkout": ("checkout (1 seat, fake gateway)", "ceiling_insert"),
            "webhooks": ("webhooks (20 % duplicates)", "ceiling_insert"),
        }
        for config in self.configs:
            for key, (label, ceiling_key) in names.items():
                fig = config.figures[key]
                ratio = (
                    _ratio(fig["rps"], config.figures[ceiling_key]["rps"]) if ceiling_key else "—"
                )
                add(
                    f"| {config.database} | {config.label} | {label} | {fig['rps']:.0f} | "
                    f"{_ms(fig['p50_ms'])} | {_ms(fig['p99_ms'])} | {fig['errors']} | {ratio} | "
                    f"{fig['server_cpu_share']:.2f} {fig['server_cpu_by_process']} / "
                    f"{fig['postgres_cpu_share']:.2f} / {fig['client_cpu_share']:.2f} | "
                    f"{fig['machine']['idle']:.2f} / {fig['machine']['steal']:.2f} |"
                )
        add("")
        errors = [
            (c, k, f)
            for c in self.configs
            for k, f in c.figures.items()
            if f["errors"] and f.get("first_error")
        ]
        if errors:
            add("First error of each figure that had errors:\n")
            for config, key, fig in errors:
                statuses = ", ".join(f"{s}: {n}" for s, n in sorted(fig["statuses"].items()))
                detail = " ".join(str(fig["first_error"]).split())[:300]
                add(f"- {config.database}/{config.label} {key} ({statuses}): `{detail}`")
            add("")

        add("## Webhooks applied exactly once\n")
        add(
            f"{WEBHOOK_BOOKINGS:,} pending bookings are seeded per configuration (each with a "
            "Checkout Session id and a held seat); the load sends one signed "
            "`checkout.session.completed` per booking, and re-sends an already sent event "
            f"(same id, fresh signature) as {DUPLICATE_SHARE:.0%} of all requests. Afterwards "
            "the runner reads the database.\n"
        )
        add(
            "| database | workers | events sent | duplicates sent | confirmed | charge entries "
            "| bookings with a charge | inbox rows | seats booked | left pending | exactly once |"
        )
        add("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for config in self.configs:
            check = config.webhooks
            fig = config.figures["webhooks"]
            if check is None:
                continue
            add(
                f"| {config.database} | {config.label} | {check.sent:,} | "
                f"{fig.get('duplicates_sent', 0):,} | {check.confirmed:,} | "
                f"{check.charge_entries:,} | {check.bookings_with_a_charge:,} | "
                f"{check.inbox_records:,} | {check.seats_booked:,} | {check.still_pending:,} | "
                f"{'yes' if check.exactly_once else '**no**'} |"
            )
        add("")

        add("## Peak memory\n")
        add(
            "VmHWM (peak resident set) of each server process, read from /proc after all of "
            "its load; with 2 workers uvicorn runs a supervisor (`main`) and two workers.\n"
        )
        add("| database | workers | server | processes (role: peak MB) |")
        add("| --- | --- | --- | --- |")
        for config in self.configs:
            for server, rows in config.memory.items():
                text = ", ".join(f"{r['role']}: {r['peak_mb']:.0f}" for r in rows)
                add(f"| {config.database} | {config.label} | {server} | {text} |")
        add("")

        if self.growth is not None:
            g = self.growth
            add("## Growth: 1 thousand vs 1 million bookings\n")
            add(
                "PostgreSQL, 1 worker. Two databases, each with its own server, one holding "
                f"{g.small:,} bookings and the other {g.large:,}; the loads alternate between "
                f"them in {g.rounds} short rounds each and every figure is the median over the "
                "rounds (a drift of the shared machine then falls on both alike). The history "
                "is written straight into the real tables inside PostgreSQL (`INSERT … SELECT "
                "generate_series`: past slots over 10 offerings, one of them the offering "
                "under test, 20 bookings per slot, one in ten expired), then ANALYZE and "
                f"CHECKPOINT: {g.large:,} bookings took {g.seed_seconds:.0f} s. SQLite is left "
                "out of this measurement to keep `make bench` under 10 minutes. Checkout "
                "rounds add their own bookings to both databases as they go.\n"
            )
            add(
                f"| scenario | req/s @ {g.small:,} | p50 ms | p99 ms | req/s @ {g.large:,} | "
                "p50 ms | p99 ms | p99 ratio | p99 of each round (small / large) |"
            )
            add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
            for scenario in ("availability", "checkout"):
                a = g.figures[f"{scenario}_small"]
                b = g.figures[f"{scenario}_large"]
                each = " / ".join(", ".join(f"{v:.0f}" for v in fig["p99_each"]) for fig in (a, b))
                add(
                    f"| {scenario} | {a['rps']:.0f} | {_ms(a['p50_ms'])} | {_ms(a['p99_ms'])} | "
                    f"{b['rps']:.0f} | {_ms(b['p50_ms'])} | {_ms(b['p99_ms'])} | "
                    f"{b['p99_ms'] / a['p99_ms']:.2f} × | {each} |"
                )
            add("")

        add("## Fee quotes, in-process\n")
        add(
            "`FeePolicy.quote` called in a loop in the runner's process "
            "(no HTTP, 1 to 100 seats).\n"
        )
        add("| policy | quotes/s | µs per quote |")
        add("| --- | ---: | ---: |")
        for name, fig in self.quotes.items():
            add(f"| {name} | {fig['quotes_per_second']:,.0f} | {fig['us_per_quote']:.1f} |")
        add("")

        if self.profiles:
            add("## Profiles (py-spy, PostgreSQL, 1 worker)\n")
            add(
                "Sampled at 200 Hz over the worker while it takes each load; shares are of the "
                "samples in which the worker was running (idle time excluded). SQLAlchemy's "
                "async layer runs each database call inside a greenlet, and py-spy shows only "
                "that greenlet's frames, so the inclusive shares of Bookpay functions that "
                "reach the database are lower bounds (which is also why `cli.py:main` is not "
                "at 100 %).\n"
            )
            for scenario, prof in self.profiles.items():
                add(f"### {scenario} ({prof['samples']:,} samples)\n")
                add("By layer (where the sampled frame was):\n")
                add("| layer | share |")
                add("| --- | ---: |")
                for key, share in prof["layers"]:
                    add(f"| {key} | {share:.0f} % |")
                add("\nBookpay functions, inclusive (the function or anything it called):\n")
                add("| function | share |")
                add("| --- | ---: |")
                for key, share in prof["inclusive"]:
                    add(f"| `{key}` | {share:.0f} % |")
                add("\nHottest leaf functions:\n")
                add("| function | share |")
                add("| --- | ---: |")
                for key, share in prof["leaf"]:
                    add(f"| `{key}` | {share:.1f} % |")
                add("")
        findings = ROOT / "bench" / "findings.md"
        if findings.exists():
            add(findings.read_text().rstrip() + "\n")
        return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per figure")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per figure")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--history", type=int, default=1_000_000, help="bookings for growth")
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument(
        "--nodelay",
        default="",
        help="extra database:workers configurations served through bench.nodelay ('' for none)",
    )
    parser.add_argument("--no-growth", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load = LoadSettings(args.seconds, args.warmup, args.connections)
    quotes = measure_fee_quotes(2.0)
    configs = [
        measure_configuration(database, int(workers), load)
        for database in filter(None, args.databases.split(","))
        for workers in filter(None, args.workers.split(","))
    ]
    for extra in filter(None, args.nodelay.split(",")):
        database, workers = extra.split(":")
        configs.append(measure_configuration(database, int(workers), load, nodelay=True))
    growth = None if args.no_growth else measure_growth(load, args.history)
    profiles: dict[str, dict[str, Any]] = {}
    if not args.no_profile:
        py_spy = ensure_py_spy()
        if py_spy is not None:
            profiles = profile_bookpay(py_spy, load)
    command = "python -m bench.run " + " ".join(sys.argv[1:])
    report = Report(started_at, load, command.strip(), configs, growth, quotes, profiles)
    report.runtime_seconds = time.perf_counter() - started
    report.evaluate()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report.markdown())
    for name, value, ok in report.targets:
        log(f"{'met   ' if ok else 'MISSED'} {name}: {value}")
    log(f"wrote {args.output} in {report.runtime_seconds / 60:.1f} minutes")


if __name__ == "__main__":
    main()
