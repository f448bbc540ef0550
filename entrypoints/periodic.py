"""Run a job every few seconds inside a server process, and stop it cleanly.

Each job declares the scope its database work runs in (`scope`, e.g. row_scope's
`acting_for_platform`): a job that declared nothing would see no tenant's rows under
PostgreSQL's row-level security (adapters/sql/row_scope.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

log = logging.getLogger("bookpay.periodic")
# While a job keeps failing (the database is down) it waits twice as long each time, up to
# this: one line a minute in the log, not a traceback a second.
MAX_BACKOFF_SECONDS = 60
# How long stopping waits for a run in progress to finish before cancelling it.
STOP_GRACE_SECONDS = 5


class Wakeup:
    """Ends a periodic job's pause early: `set()` from anywhere in the process (the webhook
    queue's acknowledgement), and the job runs again at once; set during a run, right
    after it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def pause(self, sleeping: Awaitable[Any]) -> None:
        """Wait for `sleeping` to end, or for `set()`, whichever comes first."""
        if self._event.is_set():
            if inspect.iscoroutine(sleeping):
                sleeping.close()
            return
        sleeper = asyncio.ensure_future(sleeping)
        woken = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (sleeper, woken):
                waiting.cancel()
            await asyncio.gather(sleeper, woken, return_exceptions=True)


class PeriodicTask:
    def __init__(
        self,
        name: str,
        job: Callable[[], Callable[[], Awaitable[Any]]],
        seconds: int,
        *,
        scope: Callable[[], AbstractContextManager[Any]],
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
        wake: Callable[[], Wakeup] | None = None,
    ) -> None:
        """`scope`: entered around each run: whose rows the job may see and change.
        `stop_grace_seconds`: how long `stop` lets a run in progress finish. `wake`: gives
        what ends a pause between runs early (never the backoff of a failing job), asked
        each time (a container's provider)."""
        self._name = name
        self._job = job
        self._scope = scope
        self._seconds = seconds
        self._sleep = sleep
        self._stop_grace = stop_grace_seconds
        self._wake = wake
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._stopping = False

    async def start(self) -> None:
        if self._seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """End the job: at once between runs; a run in progress may finish first (within
        `stop_grace_seconds`). Cancelled midway, a run leaves behind what it started outside
        its own await, such as a connection aiosqlite still opens on its thread after the
        await was cancelled (omnilib/aiosqlite#259)."""
        if self._task is not None:
            self._stopping = True
            if self._running:
                await asyncio.wait({self._task}, timeout=self._stop_grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            self._stopping = False

    async def _run(self) -> None:
        # Jitter spreads the processes of one server so they do not all sweep at once.
        await self._sleep(random.uniform(0, self._seconds))  # noqa: S311 - not a secret
        failures = 0
        while not self._stopping:
            self._running = True
            if self._wake is not None:
                self._wake().clear()  # this run takes what the wake was for
            try:
                with self._scope():
                    result = await self._job()()
                log.debug("%s: %s", self._name, result)
                failures = 0
            except Exception as error:  # a failed run must not end the loop; the next retries
                failures += 1
                self._log_failure(error, self._wait(failures))
            finally:
                self._running = False
            if self._stopping:
                return
            if self._wake is not None and failures == 0:
                await self._wake().pause(self._sleep(self._wait(failures)))
            else:
                await self._sleep(self._wait(failures))

    def _wait(self, failures: int) -> float:
        """The pace, doubled for each failure in a row, up to MAX_BACKOFF_SECONDS."""
        if failures == 0:
            return self._seconds
        backoff: float = self._seconds * 2 ** min(failures - 1, 16)
        return min(backoff, max(MAX_BACKOFF_SECONDS, self._seconds))

    def _log_failure(self, error: Exception, wait: float) -> None:
        # One line per failure; the traceback only at debug level.
        reason = " ".join(str(error).split())[:200]
        log.warning(
            "%s failed: %s: %s; next try in %g s", self._name, type(error).__name__, reason, wait
        )
        log.debug("%s failure", self._name, exc_info=error)
