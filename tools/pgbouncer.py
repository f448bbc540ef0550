"""A throwaway PgBouncer in transaction pooling mode, for the benchmarks and the tests.

`running_pgbouncer()` starts Debian's `/usr/sbin/pgbouncer` on a free port of 127.0.0.1 in
front of a local PostgreSQL (trust authentication, as on the development machines and in
CI), waits until it accepts connections, and stops it afterwards. Every database of the
server is reachable through it under its own name (`* = host=… port=…`), so a test can
create a database directly and then connect to it through the pooler:

    with running_pgbouncer() as bouncer:
        url = bouncer.url_for("postgresql+asyncpg://postgres@127.0.0.1:5432/mydb")

The settings are those README's "PgBouncer" section asks a deployment for: transaction
pooling, and `statement_timeout`/`lock_timeout` (which PgBouncer 1.18 refuses as startup
parameters) set on each server connection by `connect_query` instead.
"""

# Runs Debian's pgbouncer with arguments built here.
# ruff: noqa: S603

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

PGBOUNCER = Path("/usr/sbin/pgbouncer")
# What a deployment sets too (README, "PgBouncer"): the app's own per-connection timeouts,
# applied by PgBouncer to each server connection it opens.
STATEMENT_TIMEOUT_MS = 5_000
LOCK_TIMEOUT_MS = 2_500
RUN_AS_WHEN_ROOT = "postgres"


class PgBouncerUnavailable(RuntimeError):
    """pgbouncer is not installed or did not start."""


@dataclass(frozen=True)
class PgBouncer:
    host: str
    port: int
    log_path: Path

    def url_for(self, url: str) -> str:
        """`url` (a PostgreSQL SQLAlchemy URL) pointed at this pooler instead."""
        return (
            make_url(url).set(host=self.host, port=self.port).render_as_string(hide_password=False)
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(folder: Path, port: int, server_host: str, server_port: int, pool_size: int) -> str:
    timeouts = (
        f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET lock_timeout = {LOCK_TIMEOUT_MS}"
    )
    return "\n".join(
        [
            "[databases]",
            f"* = host={server_host} port={server_port} connect_query='{timeouts}'",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            f"unix_socket_dir = {folder}",
            "auth_type = trust",
            f"auth_file = {folder / 'users.txt'}",
            "pool_mode = transaction",
            f"default_pool_size = {pool_size}",
            "max_client_conn = 2000",
            "server_reset_query =",
            # Startup parameters the app's driver sends that PgBouncer does not pass on.
            "ignore_startup_parameters = extra_float_digits,statement_timeout,lock_timeout",
            f"logfile = {folder / 'pgbouncer.log'}",
            f"pidfile = {folder / 'pgbouncer.pid'}",
            "admin_users = postgres",
            "",
        ]
    )


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running_pgbouncer(
    server_url: str = "postgresql://postgres@127.0.0.1:5432/postgres", *, pool_size: int = 20
) -> Iterator[PgBouncer]:
    """A PgBouncer (transaction pooling, `pool_size` server connections per database and
    user) in front of `server_url`'s host and port; PgBouncerUnavailable when it cannot
    run. Stopped, and its folder removed, on exit."""
    if not PGBOUNCER.exists():
        raise PgBouncerUnavailable(f"{PGBOUNCER} is missing (apt-get install pgbouncer)")
    server = make_url(server_url)
    folder = Path(tempfile.mkdtemp(prefix="bookpay_pgbouncer_"))
    port = _free_port()
    (folder / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        _config(folder, port, server.host or "127.0.0.1", server.port or 5432, pool_size)
    )
    command = [str(PGBOUNCER), str(config)]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: as root (CI containers), it runs as postgres.
        shutil.chown(folder, RUN_AS_WHEN_ROOT)
        for path in folder.iterdir():
            shutil.chown(path, RUN_AS_WHEN_ROOT)
        command[1:1] = ["--user", RUN_AS_WHEN_ROOT]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log_path = folder / "pgbouncer.log"
    try:
        deadline = time.monotonic() + 15
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                detail = log_path.read_text() if log_path.exists() else ""
                raise PgBouncerUnavailable(f"pgbouncer did not start:\n{detail[-2000:]}")
            time.sleep(0.05)
        yield PgBouncer("127.0.0.1", port, log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # immediate shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)
