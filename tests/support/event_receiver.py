"""A platform's webhook endpoint for tests: a small HTTP server on a free port of
127.0.0.1 that keeps every POST and answers with the next scripted status (200 after the
script). It dedupes by `webhook-id`, as a receiver of at-least-once events must."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.servers import serve_in_thread


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class EventReceiver:
    url: str
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    # Seconds to wait before answering (a slow endpoint, or one killed mid-delivery).
    delay: float = 0.0
    # Bytes of body to stream after the status (an endless answer when large), and how many
    # the server managed to write before the sender hung up.
    stream_body: int = 0
    body_bytes_written: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else 200

    def unique(self) -> dict[str, Received]:
        """The first delivery of each event id."""
        with self.lock:
            first: dict[str, Received] = {}
            for item in self.received:
                first.setdefault(item.headers["webhook-id"], item)
            return first


class _Server(ThreadingHTTPServer):
    # http.server's listen backlog of 5 drops connections when a relay sends a burst of
    # deliveries at once; a real endpoint's server queues far more.
    request_queue_size = 256
    daemon_threads = True


@contextmanager
def event_receiver(
    path: str = "/hooks/bookpay", *, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> Iterator[EventReceiver]:
    """`tls`: serve https with this server context, at `https://{host}:{port}{path}` (a
    name the test's resolver maps to 127.0.0.1)."""
    receiver: EventReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            expected = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(expected)
            if len(body) < expected:
                # The sender died mid-request (a killed relay): like any HTTP server, no
                # request was received, so nothing is recorded and nobody is answered.
                return
            with receiver.lock:
                receiver.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
            if receiver.delay:
                threading.Event().wait(receiver.delay)
            status = receiver.next_status()
            self.send_response(status)
            self.send_header("content-length", str(receiver.stream_body))
            self.end_headers()
            if receiver.stream_body:
                self._stream(receiver.stream_body)

        def _stream(self, size: int) -> None:
            chunk = b"x" * 65536
            try:
                while receiver.body_bytes_written < size:
                    self.wfile.write(chunk)
                    receiver.body_bytes_written += len(chunk)
            except OSError:
                self.close_connection = True  # the sender hung up: what it needed was read

        def log_message(self, format: str, *args: object) -> None:
            return

    server = _Server(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    receiver = EventReceiver(f"{scheme}://{host}:{server.server_address[1]}{path}")
    serve_in_thread(server)
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
