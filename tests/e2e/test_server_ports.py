"""The e2e harness talks to its own server only. Other test runs on the machine pick ports
from the same range; when one binds the port this server was given before it does, the
server fails to bind, and a ready answer on that port is the other run's server (with
another database: the chaos test once met a tenant slug "already taken" on a fresh one).
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.e2e import conftest
from tests.e2e.conftest import start_server, stop_server
from tests.support.servers import serve_in_thread
from tests.support.workers import free_port


class _OtherRunsServer(BaseHTTPRequestHandler):
    """Ready, and refusing this run's admin key, as another run's server (its own key)."""

    def do_GET(self) -> None:
        body = b'{"other": true}'
        self.send_response(401 if self.path.startswith("/v1/admin") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another test run's server took: it answers ready."""
    other = ThreadingHTTPServer(("127.0.0.1", free_port()), _OtherRunsServer)
    serve_in_thread(other)
    try:
        yield other.server_address[1]
    finally:
        other.shutdown()
        other.server_close()


def test_a_server_that_lost_its_port_starts_again_on_another(
    taken_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([taken_port])
    monkeypatch.setattr(conftest, "free_port", lambda: next(ports, None) or free_port())
    server = start_server(f"sqlite+aiosqlite:///{tmp_path / 'bookpay.db'}", tmp_path / "s.log")
    try:
        assert server.base_url != f"http://127.0.0.1:{taken_port}"
        assert server.process.poll() is None
        ready = httpx.get(f"{server.base_url}/health/ready", timeout=10)
        assert ready.status_code == 200
        assert "other" not in ready.json()
    finally:
        stop_server(server)
