"""`bookpay serve --workers N`: N uvicorn workers, each with a listening socket of its own.

uvicorn's own multi-worker mode hands every worker the same listening socket; whichever
worker's event loop wakes first accepts every pending connection (asyncio accepts up to
its backlog at once). A worker waiting on the database has an idle loop, and keep-alive
connections stay where they landed: under the benchmark's SQLite webhook load one worker
took nearly every request (issue 19, docs/benchmarks.md). Here each worker gets its own
socket bound to the same address with SO_REUSEPORT, and the kernel spreads new
connections over the workers' sockets by their addresses, whoever is busy.

The sockets are made with IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted
connections (uvicorn's proto-0 socket made every keep-alive response wait for the client's
delayed ACK: Kludex/uvicorn#3149; the delay is in docs/benchmarks.md). Otherwise this is
uvicorn's supervisor (restarts, signals), which asks for the sockets once per worker it
starts.
"""

from __future__ import annotations

import socket
from typing import Any

from uvicorn.supervisors import Multiprocess


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port) that other sockets may share (SO_REUSEPORT).

    OSError when the address is taken by a socket without SO_REUSEPORT (e.g. another
    program), as for any bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def refuse_a_taken_port(host: str, port: int) -> None:
    """OSError (address in use) when any socket listens on (host, port), SO_REUSEPORT or not.

    SO_REUSEPORT lets every process of the same user bind the port: without this check a
    second server started on a taken port would silently share its connections with the
    first (another deployment, another test run) instead of failing. A socket bound without
    the option conflicts with every other listener, so binding one (and closing it at once)
    asks the kernel whether anyone listens there.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "taken"
        probe.bind((host, port))
    finally:
        probe.close()


class ReusePortWorkers(Multiprocess):
    """uvicorn's supervisor, giving each worker it starts a socket of its own on one port.

    uvicorn reads `self.sockets` once for each worker process it starts (at first, on a
    restart, when one died). Each read binds a new socket; the supervisor closes its copy
    once the worker has started, so a socket of a worker that died leaves the port with it
    (a socket nobody accepts on would keep receiving its share of connections).
    """

    def __init__(self, config: Any, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._handed: list[socket.socket] = []
        # The first worker's socket is bound now, so a taken port fails at once.
        refuse_a_taken_port(host, port)
        self._first: socket.socket | None = reuse_port_socket(host, port)
        super().__init__(config, sockets=[])

    @property
    def sockets(self) -> list[socket.socket]:
        sock, self._first = self._first, None
        if sock is None:
            sock = reuse_port_socket(self._host, self._port)
        self._handed.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, _value: list[socket.socket]) -> None:
        """uvicorn's __init__ stores its list here; every worker gets its own instead."""

    def init_processes(self) -> None:
        super().init_processes()
        self._close_handed()

    def restart_all(self) -> None:
        super().restart_all()
        self._close_handed()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self._close_handed()

    def _close_handed(self) -> None:
        """The started workers hold their sockets; the supervisor lets go of its copies."""
        for sock in self._handed:
            sock.close()
        self._handed.clear()
