"""The servers under load: `bookpay serve` and the calibration app, as real processes.

Every subprocess here runs this venv's own executables with arguments built here.
"""

# ruff: noqa: S603

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    ADMIN_KEY,
    BIN,
    BOOKPAY,
    CONNECT_SECRET,
    WEBHOOK_SECRET,
    inherited_env,
)
from entrypoints.cli import SERVER_HTTP, SERVER_LOOP


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        """What the server printed so far (uvicorn's and Bookpay's logs)."""
        return self.log_path.read_text(errors="replace")

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


def start_server(
    name: str, command: list[str], env: dict[str, str], port: int, cwd: Path | None = None
) -> Server:
    log_path = Path(tempfile.mkstemp(prefix=f"bench_{name}_", suffix=".log")[1])
    handle = log_path.open("wb")
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
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
    """The environment of a server under load: the inherited one without any `BOOKPAY_*`
    (bench.common.inherited_env), and the settings the bench measures with."""
    return {
        **inherited_env(),
        "BOOKPAY_DATABASE_URL": url,
        "BOOKPAY_GATEWAY": "fake",
        "BOOKPAY_ADMIN_API_KEY": ADMIN_KEY,
        "BOOKPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_SECRET,
        "BOOKPAY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "BOOKPAY_SWEEP_SECONDS": "0",
        # The load comes from one address: the bench measures throughput, not the limiters
        # (without these, most checkouts of a run were 429s). With all of them off, several
        # workers may start without a shared store (BOOKPAY_REDIS_URL).
        "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "0",
        "BOOKPAY_AUTH_FAILURES_PER_MINUTE": "0",
        "BOOKPAY_HELD_SEATS_PER_CLIENT_PER_HOUR": "0",
        "BOOKPAY_SLOT_SHARE_PER_CLIENT": "false",
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
    # access log, the same loop and parser: entrypoints/cli.py SERVER_LOOP, SERVER_HTTP).
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
        "--loop",
        SERVER_LOOP,
        "--http",
        SERVER_HTTP,
    ]
