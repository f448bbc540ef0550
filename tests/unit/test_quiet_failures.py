"""Review of issue 14, finding 13: a background job failing every second (the database is
down) logs one line per failure and backs off; with Redis down the rate limits log one
warning per interval, not a traceback per request."""

from __future__ import annotations

import asyncio
import logging
from contextlib import nullcontext

import pytest

from adapters.rate_limits.limiter import RateLimits
from entrypoints.periodic import PeriodicTask


class Stop(Exception):
    pass


async def test_a_failing_job_logs_one_line_each_time_and_backs_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > 8:
            raise Stop

    async def job() -> None:
        raise ConnectionRefusedError("connection refused\nwith a second line")

    task = PeriodicTask("fake stripe deliveries", lambda: job, 1, scope=nullcontext, sleep=sleep)
    caplog.set_level(logging.DEBUG, logger="bookpay.periodic")
    with pytest.raises(Stop):
        await task._run()
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(failures) == 8
    for record in failures:
        assert record.exc_info is None
        assert "\n" not in record.getMessage()
    waits = slept[1:]  # the first is the start's jitter
    assert waits == sorted(waits)
    assert waits[0] == 1
    assert waits[-1] > waits[0]
    assert max(waits) <= 60


async def test_a_job_that_recovers_runs_at_its_own_pace_again() -> None:
    slept: list[float] = []
    outcomes = iter([False, False, False, True, True])

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > 5:
            raise Stop

    async def job() -> None:
        if not next(outcomes):
            raise OSError("down")

    task = PeriodicTask("sweeper", lambda: job, 2, scope=nullcontext, sleep=sleep)
    with pytest.raises(Stop):
        await task._run()
    assert slept[1:] == [2, 4, 8, 2, 2]


async def test_with_redis_down_the_limits_warn_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = RateLimits(
        checkouts_per_minute=5,
        auth_failures_per_minute=5,
        held_seats_per_hour=10,
        redis_url="redis://127.0.0.1:1/0",
    )
    caplog.set_level(logging.DEBUG, logger="bookpay.rate_limits")
    async with asyncio.timeout(30):
        for _ in range(5):
            assert await limits.take_checkout("10.0.0.1") is None
            assert await limits.auth_refused("10.0.0.1") is None
            assert await limits.count_held_seats("10.0.0.1", 3) is None
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].exc_info is None
