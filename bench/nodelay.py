"""Run `bookpay …` or `uvicorn …` with TCP_NODELAY restored on multi-worker listeners.

`bookpay serve` now does this itself (entrypoints/cli.py, `_serve_workers`); the benchmark
uses this launcher for its calibration app, so the ceilings run under the same settings:
with `--workers N > 1`, uvicorn binds the listening socket itself with
`socket.socket(family)`, so its `proto` is 0; accepted connections inherit that, and
asyncio only sets TCP_NODELAY on sockets whose proto is IPPROTO_TCP
(asyncio.base_events._set_nodelay). Nagle's algorithm then holds the response body until
the client's delayed ACK arrives, about 40 ms per keep-alive request (uvicorn issue #3149).
Here the bound socket is re-wrapped with IPPROTO_TCP before the workers inherit it.

    python -m bench.nodelay bookpay serve --workers 2 …
    python -m bench.nodelay uvicorn bench.calibration:create_app --factory --workers 2 …
"""

from __future__ import annotations

import socket
import sys

from uvicorn.config import Config

_bind_socket = Config.bind_socket


def bind_socket_with_tcp_proto(self: Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        rewrapped = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, sock.detach())
        rewrapped.set_inheritable(True)
        return rewrapped
    return sock


def main() -> None:
    Config.bind_socket = bind_socket_with_tcp_proto  # type: ignore[method-assign]
    program, *args = sys.argv[1:]
    if program == "bookpay":
        from entrypoints.cli import main as bookpay

        bookpay(args)
    elif program == "uvicorn":
        from uvicorn.main import main as uvicorn

        uvicorn(args=args)
    else:
        sys.exit(f"bench.nodelay: runs `bookpay` or `uvicorn`, not {program!r}")


if __name__ == "__main__":
    main()
