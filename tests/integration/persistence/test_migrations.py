"""The migrations build exactly the tables orm.py defines, and undo cleanly, on both engines."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from adapters.sql.database import create_engine
from adapters.sql.migrations import downgrade_async, downgrade_to_base, migrate, upgrade_async
from adapters.sql.orm import metadata

# SQLite cannot reflect an index on an expression (ix_bookings_tenant_status_email, on
# lower(customer_email)), so alembic leaves it out of SQLite's comparison and says so; the
# PostgreSQL comparison covers it.
pytestmark = [
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based"),
]

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


@pytest.mark.slow
async def test_the_migrations_round_trip_through_base(empty_database: str) -> None:
    await upgrade_async(empty_database)
    await downgrade_async(empty_database, "base")
    _, tables = await _inspect(empty_database)
    assert tables <= {"alembic_version"}

    await upgrade_async(empty_database)
    differences, tables = await _inspect(empty_database)
    assert differences == []
    assert tables == set(metadata.tables) | {"alembic_version"}


@pytest.mark.slow
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


@pytest.mark.slow
async def test_processes_starting_together_may_all_migrate(empty_database: str) -> None:
    # Separate processes: Alembic keeps its migration context in module globals.
    script = "import sys; from adapters.sql.migrations import migrate; migrate(sys.argv[1])"
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, empty_database)
        for _ in range(4)
    ]
    codes = [await asyncio.wait_for(process.wait(), timeout=60) for process in processes]
    assert codes == [0, 0, 0, 0]
    differences, _ = await _inspect(empty_database)
    assert differences == []


async def _rows(url: str, sql: str, rows: list[dict[str, Any]] | None = None) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if rows is not None:
                for row in rows:
                    await connection.execute(text(sql), row)
                return []
            return list((await connection.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def test_refunded_bookings_become_confirmed_with_their_payment_status(
    empty_database: str,
) -> None:
    """Before 0007 a refund turned a booking `refunded` while its seats stayed booked."""
    await upgrade_async(empty_database, "0003")
    at = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    await _rows(
        empty_database,
        "INSERT INTO tenants VALUES ('tn_1', 'Studio', 'studio', 'US', 'usd', 'UTC', "
        "'destination', NULL, true, true, true, '[]')",
        [{}],
    )
    await _rows(
        empty_database,
        "INSERT INTO offerings VALUES ('tn_1', 'of_1', 'Class', '', 2000, 'usd', 60, 5, NULL, "
        "NULL, false)",
        [{}],
    )
    await _rows(
        empty_database,
        "INSERT INTO slots VALUES ('tn_1', 'sl_1', 'of_1', :at, 5, 0, 5)",
        [{"at": at}],
    )
    booking = (
        "INSERT INTO bookings (tenant_id, id, offering_id, slot_id, seats, starts_at, "
        "customer_email, currency, unit_price, quote_seats, subtotal, service_fee, "
        "customer_fee, customer_total, application_fee, tenant_receives, fee_bearer, "
        "fee_policy_version, refund_on_cancel, status, hold_expires_at, created_at, version) "
        "VALUES ('tn_1', :id, 'of_1', 'sl_1', 1, :at, 'a@example.com', 'usd', 2000, 1, 2000, "
        "100, 100, 2100, 100, 2000, 'customer', 1, 'proportional', :status, :at, :at, 1)"
    )
    await _rows(
        empty_database,
        booking,
        [
            {"id": "bk_part", "status": "refunded", "at": at},
            {"id": "bk_all", "status": "refunded", "at": at},
            {"id": "bk_paid", "status": "confirmed", "at": at},
            {"id": "bk_cancelled", "status": "cancelled", "at": at},
            {"id": "bk_disputed", "status": "confirmed", "at": at},
            {"id": "bk_pending", "status": "pending_payment", "at": at},
        ],
    )
    await _rows(
        empty_database,
        "INSERT INTO booking_refunds VALUES ('tn_1', :booking, :refund, :position, 'usd', "
        ":amount, 0, :pending)",
        [
            {
                "booking": "bk_part",
                "refund": "re_1",
                "position": 0,
                "amount": 500,
                "pending": False,
            },
            # A reservation the gateway never confirmed is not refunded yet.
            {"booking": "bk_part", "refund": "r_2", "position": 1, "amount": 1600, "pending": True},
            {
                "booking": "bk_all",
                "refund": "re_3",
                "position": 0,
                "amount": 2100,
                "pending": False,
            },
            {
                "booking": "bk_cancelled",
                "refund": "re_4",
                "position": 0,
                "amount": 2100,
                "pending": False,
            },
        ],
    )
    await _rows(
        empty_database,
        "INSERT INTO disputes VALUES ('tn_1', 'dp_1', 'bk_disputed', 2100, 'usd', 'fraudulent', "
        ":at)",
        [{"at": at}],
    )

    await upgrade_async(empty_database)

    rows = await _rows(
        empty_database, "SELECT id, status, payment_status FROM bookings ORDER BY id"
    )
    assert [tuple(row) for row in rows] == [
        ("bk_all", "confirmed", "refunded"),
        ("bk_cancelled", "cancelled", "refunded"),
        ("bk_disputed", "confirmed", "disputed"),
        ("bk_paid", "confirmed", "paid"),
        ("bk_part", "confirmed", "partially_refunded"),
        ("bk_pending", "pending_payment", "unpaid"),
    ]
