"""The fake Stripe's tables are not the product's: a production database never has them,
fake mode makes them, and migration 0013 removes them where they were left empty."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect, text

from adapters.fake_stripe.sql_store import SqlAlchemyFakeStripeStore
from adapters.fake_stripe.store import FakeObject
from adapters.fake_stripe.tables import metadata as fake_metadata
from adapters.sql.database import create_engine
from adapters.sql.migrations import upgrade_async
from adapters.sql.orm import metadata

ENGINES = [
    pytest.param("fresh_sqlite_url", id="sqlite"),
    pytest.param("fresh_postgres_url", id="postgres", marks=pytest.mark.postgres),
]
# Copies of the worker's template, which `migrate` made from an empty database: the same
# tables as migrating one here, without a migration per test and a drop after it.
MIGRATED_ENGINES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]
FAKE_TABLES = {"fake_events", "fake_idempotency_keys", "fake_objects"}


@pytest.fixture(params=ENGINES)
def empty_database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


@pytest.fixture(params=MIGRATED_ENGINES)
def migrated_database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


def test_the_fake_tables_have_their_own_metadata() -> None:
    assert set(fake_metadata.tables) == FAKE_TABLES
    assert not set(metadata.tables) & FAKE_TABLES


async def test_a_freshly_migrated_database_has_no_fake_stripe_table(
    migrated_database: str,
) -> None:
    tables = await _tables(migrated_database)
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert not tables & FAKE_TABLES


async def test_fake_mode_makes_its_tables_on_first_use_and_finds_them_afterwards(
    migrated_database: str,
) -> None:
    engine = create_engine(migrated_database)
    try:
        # Two processes starting the fake at once: both make or find the tables.
        first, second = SqlAlchemyFakeStripeStore(engine), SqlAlchemyFakeStripeStore(engine)
        await asyncio.gather(
            first.put_object(FakeObject("acct_1", {"object": "account"})),
            second.put_object(FakeObject("acct_2", {"object": "account"})),
        )
        again = SqlAlchemyFakeStripeStore(engine)
        assert {o.id for o in await again.list_objects("account")} == {"acct_1", "acct_2"}
    finally:
        await engine.dispose()

    assert await _tables(migrated_database) >= FAKE_TABLES


async def test_0013_drops_the_fake_tables_only_when_they_are_empty(empty_database: str) -> None:
    await upgrade_async(empty_database, "0012")
    assert await _tables(empty_database) >= FAKE_TABLES

    await upgrade_async(empty_database)

    assert not await _tables(empty_database) & FAKE_TABLES


async def test_0013_keeps_the_fake_tables_of_a_database_that_ran_the_fake(
    empty_database: str,
) -> None:
    await upgrade_async(empty_database, "0012")
    await _execute(
        empty_database,
        "INSERT INTO fake_objects (id, kind, account_id, body, version) "
        "VALUES ('acct_kept', 'account', NULL, '{\"object\": \"account\"}', 1)",
    )

    await upgrade_async(empty_database)

    assert await _tables(empty_database) >= FAKE_TABLES
    engine = create_engine(empty_database)
    try:
        kept = await SqlAlchemyFakeStripeStore(engine).get_object("acct_kept")
    finally:
        await engine.dispose()
    assert kept is not None
    assert kept.body == {"object": "account"}
