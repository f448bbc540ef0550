"""The real `bookpay serve` process, on SQLite and on PostgreSQL, driven over HTTP."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.workers import free_port

BOOKPAY = Path(sys.executable).with_name("bookpay")
# Secrets of this test run's own: a server of another run on the machine (another
# checkout's chaos test, say) then refuses this run's requests and events, and this run's
# servers refuse its, instead of taking them for their own. The fake Stripe's ids are
# sequential per database, so two runs name different payments with the same ids.
ADMIN_KEY = "bp_admin_e2e_" + secrets.token_hex(12)
WEBHOOK_SECRET = "whsec_e2e_platform_" + secrets.token_hex(8)
CONNECT_WEBHOOK_SECRET = "whsec_e2e_connect_" + secrets.token_hex(8)


@dataclass
class Server:
    base_url: str
    admin_key: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)


def start_server(
    database_url: str,
    log: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    migrate: bool = True,
) -> Server:
    """A `bookpay serve` on a free port of 127.0.0.1, once it answers ready; `env` adds to
    (or overrides) its settings. `migrate=False` skips `bookpay migrate` on PostgreSQL (a
    database another server already migrated).

    Other test runs on the machine (other worktrees, other workers) pick ports too: one may
    bind the port between `free_port` and this server's bind, which then fails. So "ready"
    counts only once this server's own log says it listens (before that, a ready answer
    may be the other run's server, with another database), and a server that lost its port
    is started again on another."""
    for _ in range(PORT_ATTEMPTS - 1):
        try:
            return _start_server(database_url, log, workers=workers, env=env, migrate=migrate)
        except PortTaken:
            migrate = False  # done by the first attempt
    return _start_server(database_url, log, workers=workers, env=env, migrate=migrate)


# A server that lost its port to another test run is started again on another, this often.
PORT_ATTEMPTS = 3
TAKEN = b"address already in use"


class PortTaken(RuntimeError):
    pass


def _start_server(
    database_url: str,
    log: Path,
    *,
    workers: int,
    env: dict[str, str] | None,
    migrate: bool,
) -> Server:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = {
        **os.environ,
        "BOOKPAY_DATABASE_URL": database_url,
        "BOOKPAY_GATEWAY": "fake",
        "BOOKPAY_ADMIN_API_KEY": ADMIN_KEY,
        "BOOKPAY_PUBLIC_BASE_URL": base_url,
        "BOOKPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_WEBHOOK_SECRET,
        # Every request comes from 127.0.0.1 here: the per-client limits have their own tests.
        "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "0",
        "BOOKPAY_HELD_SEATS_PER_CLIENT_PER_HOUR": "0",
    }
    if workers > 1:
        # Several workers count per-client limits only in a shared store (Redis); with
        # none, `serve` refuses to start unless they are all off.
        settings |= {
            "BOOKPAY_AUTH_FAILURES_PER_MINUTE": "0",
            "BOOKPAY_SLOT_SHARE_PER_CLIENT": "false",
        }
    settings = {**settings, **(env or {})}
    if migrate and "sqlite" not in database_url:
        subprocess.run([str(BOOKPAY), "migrate"], env=settings, check=True, capture_output=True)
    handle = log.open("wb")
    process = subprocess.Popen(
        [str(BOOKPAY), "serve", "--port", str(port), "--workers", str(workers)],
        env=settings,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        said = log.read_bytes()
        if TAKEN in said:  # it shuts down slowly: no need to wait for that
            stop_server(Server(base_url, ADMIN_KEY, process, log))
            raise PortTaken(f"port {port} was taken meanwhile:\n{said.decode()}")
        if process.poll() is not None:
            raise RuntimeError(f"bookpay serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200 and _ours(
                base_url
            ):
                return Server(base_url, ADMIN_KEY, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"bookpay serve did not become ready:\n{log.read_text()}")


def _ours(base_url: str) -> bool:
    """Whether the server answering is this run's: only it knows this run's admin key (a
    server of another test run may answer on a port between our check and our bind)."""
    answer = httpx.get(
        f"{base_url}/v1/admin/bookings",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=1,
    )
    return answer.status_code == 200


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'bookpay.db'}"
    else:
        url = create_postgres_database("bookpay_e2e")
    running = start_server(url, tmp_path / "server.log")
    try:
        yield running
    finally:
        stop_server(running)
        if request.param == "postgres":
            drop_postgres_database(url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here starts real server processes: all of them are `slow`."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.slow)
