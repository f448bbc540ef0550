"""Run a job every few seconds inside a server process, and stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("bookpay.periodic")


class PeriodicTask:
    def __init__(
        self, name: str, job: Callable[[], Callable[[], Awaitable[Any]]], seconds: int
    ) -> None:
        self._name = name
        self._job = job
        self._seconds = seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        # Jitter spreads the processes of one server so they do not all sweep at once.
        await asyncio.sleep(random.uniform(0, self._seconds))  # noqa: S311 - not a secret
        while True:
            try:
                result = await self._job()()
                log.debug("%s: %s", self._name, result)
            except Exception:  # a failed run must not end the loop; the next one retries
                log.exception("%s failed", self._name)
            await asyncio.sleep(self._seconds)
