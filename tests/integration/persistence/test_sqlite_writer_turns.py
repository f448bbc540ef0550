"""Processes on one SQLite file take turns at its write lock (issue 19).

Two engines on one file stand for two worker processes (a flock belongs to an open file,
so two engines of one process contend like two processes). No timing: the test waits until
the second writer is queued (it holds the gate file), then checks who writes next.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.database import create_engine
from adapters.sql.sqlite_writers import WriterTurns


def _locked_by_someone(path: str) -> bool:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


async def _until_queued(gate: str) -> None:
    for _ in range(1000):
        if _locked_by_someone(gate):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second writer never queued at the gate")


async def test_a_waiting_writer_goes_before_the_one_that_just_wrote(tmp_path: Path) -> None:
    database = tmp_path / "turns.db"
    url = f"sqlite+aiosqlite:///{database}"
    first, second = create_engine(url), create_engine(url)
    order: list[str] = []
    try:
        async with first.begin() as connection:
            await connection.execute(text("CREATE TABLE t (who TEXT)"))
        holding = await first.connect()
        await holding.execute(text("INSERT INTO t VALUES ('first, holding')"))

        async def second_writes() -> None:
            async with second.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES ('second')"))
                order.append("second")

        waiting = asyncio.create_task(second_writes())
        await _until_queued(f"{database}-writer.lock.gate")
        await holding.commit()
        await holding.close()  # back to the pool: the turn is given back
        async with first.begin() as connection:  # asks again at once
            await connection.execute(text("INSERT INTO t VALUES ('first, again')"))
            order.append("first")
        await waiting
    finally:
        await first.dispose()
        await second.dispose()

    assert order == ["second", "first"]


async def test_a_writer_that_gives_up_waiting_passes_the_turn_on(tmp_path: Path) -> None:
    database = tmp_path / "timeout.db"
    url = f"sqlite+aiosqlite:///{database}"
    holder = create_engine(url)
    impatient = _engine_with_turns(url, WriterTurns(f"{database}-writer.lock", timeout=0.2))
    try:
        holding = await holder.connect()
        await holding.execute(text("CREATE TABLE t (x INTEGER)"))

        with pytest.raises(sqlalchemy.exc.OperationalError, match="database is locked"):
            async with impatient.begin() as connection:
                await connection.execute(text("SELECT 1"))
        await holding.commit()
        await holding.close()

        # The abandoned wait got the turn and let it go: both can write again.
        async with impatient.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        async with holder.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (2)"))
            count = (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one()
    finally:
        await holder.dispose()
        await impatient.dispose()

    assert count == 2


def _engine_with_turns(url: str, turns: WriterTurns) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    turns.attach(engine)

    @event.listens_for(engine.sync_engine, "connect")
    def _autocommit_driver(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        turns.take(connection)
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def test_a_read_only_unit_reads_while_another_process_writes(tmp_path: Path) -> None:
    from adapters.sql.migrations import migrate
    from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork

    url = f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}"
    migrate(url)
    writer, reader = create_engine(url), create_engine(url)
    try:
        writing = await writer.connect()
        await writing.execute(text("DELETE FROM webhook_inbox"))  # holds the write lock
        async with SqlAlchemyUnitOfWork(reader).read_only() as uow:
            found = await uow.tenants.get_by_slug("nobody")
        await writing.rollback()
        await writing.close()
    finally:
        await writer.dispose()
        await reader.dispose()

    assert found is None
