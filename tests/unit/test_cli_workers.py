"""`bookpay serve --workers N` hands its workers a TCP socket, so TCP_NODELAY applies.

asyncio only disables Nagle's algorithm on sockets whose proto is IPPROTO_TCP; uvicorn's
own multi-worker socket has proto 0, which cost every keep-alive response ~40 ms
(docs/benchmarks.md). The benchmark measures the effect; this test pins the cause.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
import uvicorn
from uvicorn import supervisors

from entrypoints import cli


def test_the_shared_listening_socket_is_a_tcp_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[socket.socket] = []

    class Supervisor:
        def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
            handed.extend(sockets)

        def run(self) -> None:
            pass

    monkeypatch.setattr(supervisors, "Multiprocess", Supervisor)
    config = uvicorn.Config(cli.ASGI_FACTORY, factory=True, host="127.0.0.1", port=0, workers=2)

    cli._serve_workers(config)

    (sock,) = handed
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.get_inheritable()
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
