"""Engine set-up: SQLite's pragmas, timezone-aware timestamps, constraints as a last defence."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import IntegrityError, StatementError

from adapters.sql import orm
from adapters.sql.database import DatabaseProbe, create_engine, is_sqlite
from tests.integration.persistence.builders import NOW, a_slot, a_tenant, an_offering, new_id

ENGINES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


def test_the_engine_is_chosen_by_the_url() -> None:
    assert is_sqlite("sqlite+aiosqlite:///bookpay.db")
    assert not is_sqlite("postgresql+asyncpg://postgres@127.0.0.1/bookpay")


@pytest.mark.postgres
async def test_postgres_connections_are_kept_not_reopened_per_unit_of_work(
    postgres_url: str,
) -> None:
    """More concurrent units of work than SQLAlchemy's default pool keeps (5): none of
    their connections is closed on return, so the next ones reuse them."""
    engine = create_engine(postgres_url)
    concurrent = 12
    try:

        async def backend_pid() -> int:
            async with engine.connect() as connection:
                pid = (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar()
                await asyncio.sleep(0.05)
                assert pid is not None
                return int(pid)

        first = set(await asyncio.gather(*(backend_pid() for _ in range(concurrent))))
        second = set(await asyncio.gather(*(backend_pid() for _ in range(concurrent))))
    finally:
        await engine.dispose()
    assert len(first) == concurrent
    assert second == first


async def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000}


async def test_an_in_memory_sqlite_database_works_too() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()


async def test_timestamps_are_stored_as_instants_and_read_back_as_aware_utc(
    database_url: str,
) -> None:
    event_id = new_id("evt")
    tokyo = timezone(timedelta(hours=9))
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(orm.webhook_inbox).values(
                    event_id=event_id, received_at=NOW.astimezone(tokyo)
                )
            )
        async with engine.connect() as connection:
            stored = await connection.scalar(
                select(orm.webhook_inbox.c.received_at).where(
                    orm.webhook_inbox.c.event_id == event_id
                )
            )
            later = await connection.scalar(
                select(orm.webhook_inbox.c.event_id).where(
                    orm.webhook_inbox.c.event_id == event_id,
                    orm.webhook_inbox.c.received_at > NOW - timedelta(microseconds=1),
                    orm.webhook_inbox.c.received_at < NOW + timedelta(microseconds=1),
                )
            )
    finally:
        await engine.dispose()
    assert stored == NOW
    assert stored.tzinfo == UTC
    assert later == event_id


async def test_a_naive_timestamp_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            with pytest.raises(StatementError, match="naive"):
                await connection.execute(
                    insert(orm.webhook_inbox).values(
                        event_id=new_id("evt"),
                        received_at=datetime(2030, 1, 1),  # noqa: DTZ001
                    )
                )
    finally:
        await engine.dispose()


async def test_the_schema_itself_refuses_an_overbooked_slot(database_url: str) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id, capacity=2)
    slot = a_slot(offering)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(orm.tenants).values(
                    id=tenant.id,
                    name=tenant.name,
                    slug=tenant.slug,
                    country="GB",
                    default_currency="gbp",
                    timezone="UTC",
                    charge_model="destination",
                    charges_enabled=True,
                    payouts_enabled=True,
                    details_submitted=True,
                    requirements_due=[],
                )
            )
            await connection.execute(
                insert(orm.offerings).values(
                    tenant_id=tenant.id,
                    id=offering.id,
                    name="x",
                    description="",
                    price_amount=1_000,
                    currency="usd",
                    duration_minutes=60,
                    capacity=2,
                    archived=False,
                )
            )
            await connection.execute(
                insert(orm.slots).values(
                    tenant_id=tenant.id,
                    id=slot.id,
                    offering_id=offering.id,
                    starts_at=slot.starts_at,
                    capacity=2,
                    held=0,
                    booked=0,
                )
            )
        async with engine.begin() as connection:
            with pytest.raises(IntegrityError):
                await connection.execute(
                    update(orm.slots).where(orm.slots.c.id == slot.id).values(held=3)
                )
    finally:
        await engine.dispose()


async def test_a_slot_of_an_unknown_offering_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            with pytest.raises(IntegrityError):
                await connection.execute(
                    insert(orm.slots).values(
                        tenant_id=new_id("tn"),
                        id=new_id("sl"),
                        offering_id=new_id("of"),
                        starts_at=NOW,
                        capacity=1,
                        held=0,
                        booked=0,
                    )
                )
    finally:
        await engine.dispose()


def test_importing_the_adapters_creates_no_engine() -> None:
    import adapters.sql.bookings
    import adapters.sql.codecs
    import adapters.sql.database
    import adapters.sql.idempotency
    import adapters.sql.inbox
    import adapters.sql.ledger
    import adapters.sql.offerings
    import adapters.sql.orm
    import adapters.sql.slots
    import adapters.sql.statements
    import adapters.sql.tenants
    import adapters.sql.unit_of_work

    modules = (
        adapters.sql.database,
        adapters.sql.orm,
        adapters.sql.statements,
        adapters.sql.codecs,
        adapters.sql.tenants,
        adapters.sql.offerings,
        adapters.sql.slots,
        adapters.sql.bookings,
        adapters.sql.ledger,
        adapters.sql.inbox,
        adapters.sql.idempotency,
        adapters.sql.unit_of_work,
    )
    engines = [
        f"{module.__name__}.{name}"
        for module in modules
        for name, value in vars(module).items()
        if type(value).__name__ in {"AsyncEngine", "Engine"}
    ]
    assert engines == []


async def test_overlapping_readiness_probes_share_one_connection(database_url: str) -> None:
    # /health/ready is public: a flood of probes must not open a database connection each
    # (PostgreSQL's max_connections is shared by every process and host).
    probe = DatabaseProbe(database_url)
    connections: list[object] = []
    event.listen(probe._engine.sync_engine, "connect", lambda *_: connections.append(1))
    try:
        answers = await asyncio.gather(*(probe.ready() for _ in range(40)))
        assert answers == [True] * 40
        assert len(connections) == 1
        assert await probe.ready()  # a later probe checks again
        assert len(connections) == 2
    finally:
        await probe.aclose()
