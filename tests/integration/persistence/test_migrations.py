"""The migrations build exactly the tables orm.py defines, and undo cleanly, on both engines."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from adapters.database import create_engine
from adapters.migrations import downgrade_async, downgrade_to_base, migrate, upgrade_async
from adapters.orm import metadata

ENGINES = [
    pytest.param("fresh_sqlite_url", id="sqlite"),
    pytest.param("fresh_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str) -> tuple[list[Any], set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            tables = await connection.run_sync(_tables)
    finally:
        await engine.dispose()
    return differences, tables


@pytest.fixture(params=ENGINES)
def empty_database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


async def test_the_migrations_and_the_table_definitions_agree(empty_database: str) -> None:
    await upgrade_async(empty_database)
    differences, tables = await _inspect(empty_database)
    assert differences == []
    assert tables == set(metadata.tables) | {"alembic_version"}


async def test_the_migrations_round_trip_through_base(empty_database: str) -> None:
    await upgrade_async(empty_database)
    await downgrade_async(empty_database, "base")
    _, tables = await _inspect(empty_database)
    assert tables <= {"alembic_version"}

    await upgrade_async(empty_database)
    differences, tables = await _inspect(empty_database)
    assert differences == []
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_one_blocking_call_migrates_an_empty_database_and_another_empties_it(
    empty_database: str,
) -> None:
    migrate(empty_database)
    migrate(empty_database)  # already at head: nothing to do
    downgrade_to_base(empty_database)
    migrate(empty_database)


async def test_the_blocking_call_also_works_from_async_code(empty_database: str) -> None:
    migrate(empty_database)
    differences, _ = await _inspect(empty_database)
    assert differences == []


async def test_processes_starting_together_may_all_migrate(empty_database: str) -> None:
    # Separate processes: Alembic keeps its migration context in module globals.
    script = "import sys; from adapters.migrations import migrate; migrate(sys.argv[1])"
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, empty_database)
        for _ in range(4)
    ]
    codes = [await asyncio.wait_for(process.wait(), timeout=60) for process in processes]
    assert codes == [0, 0, 0, 0]
    differences, _ = await _inspect(empty_database)
    assert differences == []
