"""A unit of work tells its observer how long it waited for a pooled connection and how
long it held one (adapters/sql/unit_of_work.py; /metrics counts them per request). No
timing: a manual clock moves while the second unit waits for the process's one SQLite
connection, which the first holds until the test lets it go."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy.exc

from adapters.sql.database import create_engine
from adapters.sql.unit_of_work import (
    CONNECTION_WAIT,
    UNIT_OF_WORK,
    SqlAlchemyUnitOfWorkFactory,
)
from tests.fakes.clock import ManualSeconds
from tests.support.event_loop import settle


async def test_a_unit_waiting_for_the_pools_one_connection_counts_the_wait(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wait.db'}")  # one connection
    clock = ManualSeconds()
    heard: list[tuple[str, str, float]] = []
    first_may_leave, first_in = asyncio.Event(), asyncio.Event()

    def observer(who: str) -> SqlAlchemyUnitOfWorkFactory:
        return SqlAlchemyUnitOfWorkFactory(
            engine,
            on_timing=lambda what, seconds: heard.append((who, what, seconds)),
            clock=clock,
        )

    async def first() -> None:
        async with observer("first")():
            first_in.set()
            await first_may_leave.wait()
            clock.now += 1.0  # held 1 s after the second began to wait

    async def second() -> None:
        async with observer("second")():
            clock.now += 0.5

    try:
        holding = asyncio.create_task(first())
        await first_in.wait()
        waiting = asyncio.create_task(second())
        await settle()
        assert not waiting.done()  # queued on the pool behind the first
        clock.now += 3.0
        first_may_leave.set()
        await asyncio.wait_for(asyncio.gather(holding, waiting), 10)
    finally:
        await engine.dispose()

    assert ("first", CONNECTION_WAIT, 0.0) in heard
    assert ("first", UNIT_OF_WORK, 4.0) in heard
    assert ("second", CONNECTION_WAIT, 4.0) in heard
    assert ("second", UNIT_OF_WORK, 0.5) in heard


async def test_a_wait_that_ends_in_a_pool_timeout_is_counted_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait that found no connection is the one that matters most: it is heard before
    the unit of work raises, not lost to the rest of the request."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'timeout.db'}")
    clock = ManualSeconds()
    heard: list[tuple[str, float]] = []

    async def pool_timed_out() -> None:
        clock.now += 2.0
        raise sqlalchemy.exc.TimeoutError("QueuePool limit reached")

    monkeypatch.setattr(type(engine), "connect", lambda _engine: pool_timed_out())
    factory = SqlAlchemyUnitOfWorkFactory(
        engine, on_timing=lambda what, seconds: heard.append((what, seconds)), clock=clock
    )
    try:
        with pytest.raises(sqlalchemy.exc.TimeoutError):
            async with factory():
                pass
    finally:
        monkeypatch.undo()
        await engine.dispose()
    assert heard == [(CONNECTION_WAIT, 2.0)]
