"""An HTTP client for the app in-process, running it in the test's own event loop.

Litestar's AsyncTestClient does not: it hands every request (and the lifespan, so the app's
periodic tasks) to a blocking portal, another thread with an event loop of its own, while
the test's loop waits blocked. A test that also uses the app's engine (to read rows, to run
a job) then shares one connection pool between two loops: SQLite's pool has one
connection, whose asyncio queue belongs to whichever loop waited for it first, and the
other loop fails ("is bound to a different event loop"). Requests started together with
asyncio.gather were also served one after the other. Here the app, its lifespan and the
test share one loop and one thread: tests/integration/http/test_app_client.py.
"""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from types import TracebackType
from typing import Self

import httpx
from litestar import Litestar

from tests.support.http_app import BASE_URL, asgi_transport

# The address the app sees the test's requests come from: the per-address limits
# (entrypoints/http/throttling.py) count them as one client, "testclient", as Litestar's
# test client named it.
TEST_CLIENT_ADDRESS = ("testclient", 50000)


class AppClient(httpx.AsyncClient):
    """`async with AppClient(app) as client:` runs the app's lifespan (its startup, its
    periodic tasks, its shutdown) around an httpx client whose requests call the app
    directly, in the test's event loop. As Litestar's test client did, it follows
    redirects, says it is "testclient" and raises what escapes the app unless
    `raise_server_exceptions` is False (then a 500)."""

    def __init__(
        self,
        app: Litestar,
        base_url: str = BASE_URL,
        *,
        raise_server_exceptions: bool = True,
    ) -> None:
        transport = asgi_transport(
            app, client=TEST_CLIENT_ADDRESS, raise_app_exceptions=raise_server_exceptions
        )
        super().__init__(
            transport=transport,
            base_url=base_url,
            headers={"user-agent": "testclient"},
            follow_redirects=True,
        )
        self.app = app
        self._stop = asyncio.Event()
        self._lifespan: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        # The lifespan runs in a task of its own, as a server runs it: pytest-asyncio sets
        # up and tears down a fixture in two tasks, and Litestar's lifespan holds an anyio
        # cancel scope, which must be left by the task that entered it.
        started = asyncio.get_running_loop().create_future()
        self._lifespan = asyncio.create_task(self._serve(started))
        done, _ = await asyncio.wait({started, self._lifespan}, return_when=FIRST_COMPLETED)
        if self._lifespan in done:
            self._lifespan.result()  # the startup failed: its error
        await super().__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc_value, traceback)
        finally:
            self._stop.set()
            if self._lifespan is not None:
                await self._lifespan  # the shutdown, and its error if any

    async def _serve(self, started: asyncio.Future[None]) -> None:
        async with self.app.lifespan():
            started.set_result(None)
            await self._stop.wait()
