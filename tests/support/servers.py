"""Servers that tests run in a thread of their own."""

from __future__ import annotations

import socketserver
import threading

# socketserver's default: shutdown() waits for the serving loop's next look at its flag,
# on average a quarter of a second, at most half (a test's teardown, or a restart mid-test).
SHUTDOWN_POLL_SECONDS = 0.01


def serve_in_thread(server: socketserver.BaseServer) -> threading.Thread:
    """Run `server.serve_forever` in a daemon thread (started; returned) whose
    `server.shutdown()` returns within about SHUTDOWN_POLL_SECONDS."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, daemon=True
    )
    thread.start()
    return thread
