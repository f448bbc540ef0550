"""`bookpay serve --workers N` gives each worker a TCP listening socket of its own.

asyncio only disables Nagle's algorithm on sockets whose proto is IPPROTO_TCP; uvicorn's
own multi-worker socket has proto 0, which cost every keep-alive response ~40 ms
(docs/benchmarks.md). One shared socket also let one worker accept nearly every
connection (issue 19); with a socket per worker and SO_REUSEPORT the kernel spreads them.
The benchmark measures the effect; this test pins the cause; tests/e2e/test_workers_share.py
checks that both workers of a real server answer requests.
"""

from __future__ import annotations

import socket

import pytest
import uvicorn

from entrypoints import cli
from entrypoints.serve_workers import ReusePortWorkers


def test_each_worker_gets_its_own_tcp_socket_on_the_shared_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed: list[list[socket.socket]] = []
    kept_open: list[bool] = []

    def run(supervisor: ReusePortWorkers) -> None:
        # What uvicorn does for each worker it starts: read `sockets` once.
        for _ in range(supervisor.processes_num):
            handed.append(supervisor.sockets)
        kept_open.extend(sock.fileno() != -1 for (sock,) in handed)
        supervisor._close_handed()

    monkeypatch.setattr(ReusePortWorkers, "run", run)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    config = uvicorn.Config(cli.ASGI_FACTORY, factory=True, host="127.0.0.1", port=port, workers=2)

    cli._serve_workers(config)

    first, second = (sockets[0] for sockets in handed)
    assert len(handed) == 2
    assert all(len(sockets) == 1 for sockets in handed)
    assert first is not second
    assert kept_open == [True, True]
    # Handed over to the workers, the supervisor's copies are closed.
    assert first.fileno() == -1
    assert second.fileno() == -1


def test_a_worker_socket_shares_its_port_and_keeps_nodelay() -> None:
    from entrypoints.serve_workers import reuse_port_socket

    first = reuse_port_socket("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        second = reuse_port_socket("127.0.0.1", port)
        try:
            for sock in (first, second):
                assert sock.proto == socket.IPPROTO_TCP
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
                assert sock.get_inheritable()
            assert second.getsockname() == ("127.0.0.1", port)
        finally:
            second.close()
    finally:
        first.close()


def test_a_port_taken_without_reuse_port_is_refused() -> None:
    from entrypoints.serve_workers import reuse_port_socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(OSError, match="in use"):
            reuse_port_socket("127.0.0.1", taken.getsockname()[1]).close()
    finally:
        taken.close()


def test_a_port_another_server_shares_by_reuse_port_is_refused_too() -> None:
    """Another server's SO_REUSEPORT socket on the port (another deployment, another test
    run) must not silently share its connections with this one: starting fails instead."""
    from entrypoints.serve_workers import refuse_a_taken_port, reuse_port_socket

    other = reuse_port_socket("127.0.0.1", 0)
    try:
        with pytest.raises(OSError, match="in use"):
            refuse_a_taken_port("127.0.0.1", other.getsockname()[1])
    finally:
        other.close()


def test_a_free_port_passes_the_check_and_stays_free() -> None:
    from entrypoints.serve_workers import refuse_a_taken_port, reuse_port_socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    refuse_a_taken_port("127.0.0.1", port)
    reuse_port_socket("127.0.0.1", port).close()
