"""A periodic job can be woken before its pause ends: the webhook queue's worker runs as
soon as its process queued an event, instead of at its next poll. No timing: the pause
never ends by itself here."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext

from entrypoints.periodic import PeriodicTask, Wakeup


class Forever:
    """The job's sleep: the start's jitter passes at once, every later pause never ends."""

    def __init__(self) -> None:
        self.pauses = 0

    async def __call__(self, seconds: float) -> None:
        self.pauses += 1
        if self.pauses > 1:
            await asyncio.Event().wait()


async def test_a_wake_runs_the_job_again_before_its_pause_ends() -> None:
    wakeup, runs = Wakeup(), asyncio.Queue[int]()
    count = 0

    async def job() -> None:
        nonlocal count
        count += 1
        runs.put_nowait(count)

    task = PeriodicTask(
        "queue", lambda: job, 1, scope=nullcontext, sleep=Forever(), wake=lambda: wakeup
    )
    await task.start()
    try:
        assert await asyncio.wait_for(runs.get(), 5) == 1
        wakeup.set()
        assert await asyncio.wait_for(runs.get(), 5) == 2
        wakeup.set()
        assert await asyncio.wait_for(runs.get(), 5) == 3
    finally:
        await asyncio.wait_for(task.stop(), 5)


async def test_a_wake_during_a_run_is_not_lost() -> None:
    wakeup, runs = Wakeup(), asyncio.Queue[int]()
    release = asyncio.Event()
    count = 0

    async def job() -> None:
        nonlocal count
        count += 1
        if count == 1:
            wakeup.set()  # an event queued while the first run is draining
            await release.wait()
        runs.put_nowait(count)

    task = PeriodicTask(
        "queue", lambda: job, 1, scope=nullcontext, sleep=Forever(), wake=lambda: wakeup
    )
    await task.start()
    try:
        release.set()
        assert await asyncio.wait_for(runs.get(), 5) == 1
        assert await asyncio.wait_for(runs.get(), 5) == 2
    finally:
        await asyncio.wait_for(task.stop(), 5)
