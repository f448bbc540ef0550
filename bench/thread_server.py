"""uvicorn serving an ASGI factory in a thread of this process (bench/roundtrips.py): the
server's own CPU time and a cProfile of it can then be read exactly, request by request."""

from __future__ import annotations

import asyncio
import cProfile
import os
import threading
import time

import httpx

from bench.common import free_port
from bench.servers import server_env


class ThreadServer:
    """uvicorn serving an ASGI factory in a daemon thread with its own event loop."""

    def __init__(
        self,
        url: str,
        factory: str = "entrypoints.asgi:create_asgi_app",
        ready: str = "",
        extra: dict[str, str] | None = None,
    ) -> None:
        import uvicorn

        self.port = free_port()
        # In this process: the server's environment replaces the inherited one, so no
        # exported BOOKPAY_* setting stays behind (bench.common.inherited_env).
        env = {**server_env(url, self.port), **(extra or {})}
        os.environ.clear()
        os.environ.update(env)
        config = uvicorn.Config(
            factory,
            factory=True,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
        )
        self._ready = ready or "/health/ready"
        self._server = uvicorn.Server(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.profiler: cProfile.Profile | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._server.serve())

    def cpu_seconds(self) -> float:
        """CPU time the server's thread has used so far (the client runs in another)."""

        async def now() -> float:
            return time.thread_time()

        return asyncio.run_coroutine_threadsafe(now(), self._loop).result()

    def profile(self, on: bool) -> None:
        """Start or stop cProfile in the server's thread."""

        async def switch() -> None:
            if on:
                self.profiler = cProfile.Profile(time.thread_time)
                self.profiler.enable()
            elif self.profiler is not None:
                self.profiler.disable()

        asyncio.run_coroutine_threadsafe(switch(), self._loop).result()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + self._ready, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not become ready")

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
