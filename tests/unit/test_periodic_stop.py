"""Stopping a periodic job lets a run in progress finish: cancelled midway, a run can leave
work behind that outlives it (a database connection aiosqlite opens on a thread of its own
finishes after the cancelled await, on an event loop that may be closed by then:
omnilib/aiosqlite#259). A run that takes too long is cancelled all the same."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext

from entrypoints.periodic import PeriodicTask


class Pace:
    """The job's sleep: the start's jitter passes at once, the pause between runs lasts
    until the test ends."""

    def __init__(self) -> None:
        self.pauses = 0
        self.between_runs = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.pauses += 1
        if self.pauses > 1:
            self.between_runs.set()
            await asyncio.Event().wait()


async def test_a_run_in_progress_finishes_before_the_job_stops() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def job() -> None:
        started.set()
        await release.wait()
        finished.append(True)

    task = PeriodicTask("sweeper", lambda: job, 1, scope=nullcontext, sleep=Pace())
    await task.start()
    await started.wait()
    stopping = asyncio.create_task(task.stop())
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.wait_for(stopping, 5)

    assert finished == [True]


async def test_a_job_waiting_for_its_next_run_stops_at_once() -> None:
    runs: list[int] = []
    pace = Pace()

    async def job() -> None:
        runs.append(1)

    task = PeriodicTask("sweeper", lambda: job, 1, scope=nullcontext, sleep=pace)
    await task.start()
    await pace.between_runs.wait()
    await asyncio.wait_for(task.stop(), 5)

    assert runs == [1]


async def test_a_run_that_outlasts_the_grace_is_cancelled() -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def job() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    task = PeriodicTask(
        "sweeper", lambda: job, 1, scope=nullcontext, sleep=Pace(), stop_grace_seconds=0.05
    )
    await task.start()
    await started.wait()
    await asyncio.wait_for(task.stop(), 5)

    assert cancelled == [True]
