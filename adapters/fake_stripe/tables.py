"""The fake Stripe's tables: its own metadata, outside the product's schema and migrations.

They exist only where the fake runs: `create_tables` makes them (idempotently, on SQLite
and PostgreSQL) the first time a store uses the database, and a production database never
gets them. A development database made before they left the product's migrations keeps
the ones that hold rows (migration 0013 drops only empty ones), with the same columns.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

# Any number of processes may start the fake at once: the first to take this lock makes
# the tables, the others then find them.
_CREATE_LOCK_KEY = 0x66616B6573747269  # "fakestri"


class UtcInstant(TypeDecorator[datetime]):
    """An aware UTC instant: timestamptz on PostgreSQL, naive UTC text on SQLite (the form
    the product's tables use, so rows written before the split read back the same)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime: {value.isoformat()}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Stripe-shaped JSON objects keyed by their Stripe-style id (unique across kinds).
fake_objects = Table(
    "fake_objects",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("account_id", String(255), nullable=True),
    Column("body", JSON, nullable=False),
    # Bumped by every write: a write based on an older read is refused (StaleFakeObject).
    Column("version", Integer, nullable=False, server_default="1"),
)

# Idempotency keys bound to the object they created.
fake_idempotency_keys = Table(
    "fake_idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("object_id", String(255), nullable=False),
)

fake_events = Table(
    "fake_events",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("endpoint", String(20), nullable=False),
    Column("created_at", UtcInstant, nullable=False),
    # The exact bytes that are signed and delivered.
    Column("payload", LargeBinary, nullable=False),
    Column("sequence", BigInteger, nullable=False, unique=True),
    Column("delivered", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    # When the next delivery attempt is due; NULL once delivered or given up.
    Column("next_attempt_at", UtcInstant, nullable=True),
    Index("ix_fake_events_delivered_sequence", "delivered", "sequence"),
    Index("ix_fake_events_next_attempt_at", "next_attempt_at"),
)


def _create(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CREATE_LOCK_KEY})")
    metadata.create_all(connection, checkfirst=True)


async def create_tables(engine: AsyncEngine) -> None:
    """Make the fake's tables in `engine`'s database unless they exist (one transaction;
    processes starting together wait for each other instead of racing)."""
    async with engine.begin() as connection:
        await connection.run_sync(_create)
