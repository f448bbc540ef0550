"""A migrated PostgreSQL database a test gives back is taken over by the next one only in
its template's state (tests.support.database_reuse): rows emptied, anything else dropped."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.support.database_reuse import Template, put_back, read_template

pytestmark = pytest.mark.postgres


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(url: str, *statements: str) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(_dsn(url))
        try:
            rows: list[asyncpg.Record] = []
            for statement in statements:
                rows = await connection.fetch(statement)
            return rows
        finally:
            await connection.close()

    return asyncio.run(go())


@pytest.fixture
def template(_postgres_spares: tuple[Template, list[str]]) -> Template:
    """What the worker read from its template once, as migrated_postgres_url uses it."""
    return _postgres_spares[0]


@pytest.fixture
def copy(migrated_postgres_url: str) -> str:
    """A copy of the template in its state: new, or one an earlier test gave back. The
    tests below put it back themselves; what they leave changed is dropped at the end,
    what they leave in the template's state goes to the next test instead of a drop and a
    new copy (each a checkpoint of the server)."""
    return migrated_postgres_url


TENANT = (
    "INSERT INTO tenants (id, name, slug, country, default_currency, timezone, charge_model, "
    "charges_enabled, payouts_enabled, details_submitted, requirements_due) VALUES ('tn_reuse', "
    "'Reuse', 'reuse', 'US', 'usd', 'UTC', 'direct', true, true, true, '[]')"
)


def test_rows_a_test_wrote_are_emptied_and_the_copy_is_taken_back(
    template: Template, copy: str
) -> None:
    _run(copy, TENANT)

    assert put_back(_dsn(copy), template)

    assert _run(copy, "SELECT count(*) FROM tenants")[0][0] == 0
    assert _run(copy, "SELECT count(*) FROM alembic_version")[0][0] == 1


def test_a_connection_left_open_does_not_keep_its_lock(template: Template, copy: str) -> None:
    async def hold() -> tuple[asyncpg.Connection, asyncpg.transaction.Transaction]:
        connection = await asyncpg.connect(_dsn(copy))
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE")
        await connection.execute(TENANT)
        return connection, transaction

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(hold())

        assert put_back(_dsn(copy), template)
    finally:
        loop.close()
    assert _run(copy, "SELECT count(*) FROM tenants")[0][0] == 0


@pytest.mark.parametrize(
    "change",
    [
        "CREATE VIEW tenant_names AS SELECT name FROM tenants",
        "ALTER TABLE tenants ADD COLUMN nickname text",
        "UPDATE alembic_version SET version_num = 'elsewhere'",
        "ALTER TABLE tenants DISABLE ROW LEVEL SECURITY",
        "CREATE SEQUENCE numbers",
    ],
)
def test_a_copy_changed_beyond_its_rows_is_not_taken_back(
    template: Template, copy: str, change: str
) -> None:
    _run(copy, change)

    assert not put_back(_dsn(copy), template)


def test_tables_a_test_made_are_dropped_and_the_copy_is_taken_back(
    template: Template, copy: str
) -> None:
    # As the fake Stripe makes its tables on first use (adapters/fake_stripe/tables.py).
    _run(
        copy,
        "CREATE TABLE made_by_a_test (id text PRIMARY KEY, tenant_id varchar(64))",
        "CREATE INDEX ix_made_by_a_test ON made_by_a_test (tenant_id)",
        "INSERT INTO made_by_a_test VALUES ('one', 'tn_reuse')",
    )

    assert put_back(_dsn(copy), template)
    tables = _run(copy, "SELECT relname FROM pg_class WHERE relname LIKE '%made_by_a_test'")
    assert tables == []


def test_a_table_a_test_made_that_something_else_needs_is_not_dropped(
    template: Template, copy: str
) -> None:
    _run(
        copy,
        "CREATE TABLE made_by_a_test (id text PRIMARY KEY)",
        "CREATE VIEW needs_it AS SELECT id FROM made_by_a_test",
    )

    assert not put_back(_dsn(copy), template)
    assert _run(copy, "SELECT count(*) FROM made_by_a_test")[0][0] == 0


def test_an_empty_database_a_test_filled_with_tables_is_taken_back_empty(
    fresh_postgres_url: str,
) -> None:
    # As fresh_postgres_url gives back the empty databases of the fake Stripe's tests.
    empty = asyncio.run(read_template(_dsn(fresh_postgres_url)))
    _run(
        fresh_postgres_url,
        "CREATE TABLE one (id text PRIMARY KEY)",
        "CREATE TABLE two (id text PRIMARY KEY REFERENCES one (id))",
        "INSERT INTO one VALUES ('a')",
        "INSERT INTO two VALUES ('a')",
    )

    assert put_back(_dsn(fresh_postgres_url), empty)
    left = _run(fresh_postgres_url, "SELECT relname FROM pg_class WHERE relname IN ('one', 'two')")
    assert left == []
