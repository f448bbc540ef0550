"""FakeStripeStore in the app's own database, so every server process shares the fake.

Each call is one statement in its own short transaction: the fake's state changes are
independent of the app's units of work, just as Stripe's are. On PostgreSQL each statement
runs in autocommit mode, which is the same single-statement transaction without the BEGIN
and COMMIT (or ROLLBACK) round trips the asyncpg dialect sends on their own: a fake-mode
checkout went from 9 of the fake's round trips to 3 (bench/roundtrips.py). SQLite keeps
explicit transactions, whose BEGIN IMMEDIATE (adapters/database.py) takes the write lock.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable

from adapters.fake_stripe_store import FakeEvent, FakeObject
from adapters.orm import fake_events, fake_idempotency_keys, fake_objects
from application.ports import WebhookEndpoint


class SqlAlchemyFakeStripeStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._last = 0

    @asynccontextmanager
    async def _statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement that commits on its own when it succeeds."""
        if self._postgres:
            async with self._engine.connect() as conn:
                yield await conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            async with self._engine.begin() as conn:
                yield conn

    async def next_number(self) -> int:
        """Microseconds since the epoch, times 4096, plus 12 random bits.

        Unique across processes without a shared counter row (which every checkout on every
        worker would queue on), and increasing, so the newest event sorts first. Within a
        process the numbers strictly increase even when the clock does not move.
        """
        number = (time.time_ns() // 1000) << 12 | secrets.randbits(12)
        self._last = max(number, self._last + 1)
        return self._last

    async def put_object(self, obj: FakeObject) -> None:
        values = {"kind": obj.kind, "account_id": obj.account_id, "body": obj.body}
        async with self._statement() as conn:
            await conn.execute(self._upsert(fake_objects, {"id": obj.id, **values}, values))

    async def get_object(self, object_id: str) -> FakeObject | None:
        async with self._statement() as conn:
            row = (
                await conn.execute(select(fake_objects).where(fake_objects.c.id == object_id))
            ).first()
        if row is None:
            return None
        return FakeObject(row.id, dict(row.body), row.account_id)

    async def bind_idempotency_key(self, key: str, object_id: str) -> str:
        try:
            async with self._statement() as conn:
                await conn.execute(
                    insert(fake_idempotency_keys).values(key=key, object_id=object_id)
                )
            return object_id
        except IntegrityError:
            async with self._statement() as conn:
                bound = await conn.scalar(
                    select(fake_idempotency_keys.c.object_id).where(
                        fake_idempotency_keys.c.key == key
                    )
                )
            return str(bound)

    async def put_event(self, event: FakeEvent) -> None:
        values = {
            "type": event.type,
            "endpoint": event.endpoint.value,
            "created_at": event.created,
            "payload": event.payload,
            "sequence": event.sequence,
            "delivered": event.delivered,
            "attempts": event.attempts,
        }
        async with self._statement() as conn:
            await conn.execute(self._upsert(fake_events, {"id": event.id, **values}, values))

    def _upsert(self, table: Table, row: dict[str, Any], changes: dict[str, Any]) -> Executable:
        """One INSERT … ON CONFLICT (id) DO UPDATE, in the engine's own dialect."""
        insert_into = sqlite_insert if self._engine.dialect.name == "sqlite" else pg_insert
        statement = insert_into(table).values(**row)
        return statement.on_conflict_do_update(index_elements=[table.c.id], set_=changes)

    async def get_event(self, event_id: str) -> FakeEvent | None:
        async with self._statement() as conn:
            row = (
                await conn.execute(select(fake_events).where(fake_events.c.id == event_id))
            ).first()
        return _event(row) if row is not None else None

    async def list_events(self, limit: int = 100) -> list[FakeEvent]:
        async with self._statement() as conn:
            rows = await conn.execute(
                select(fake_events).order_by(fake_events.c.sequence.desc()).limit(limit)
            )
            return [_event(row) for row in rows]


def _event(row: Row[Any]) -> FakeEvent:
    return FakeEvent(
        id=row.id,
        type=row.type,
        created=row.created_at,
        endpoint=WebhookEndpoint(row.endpoint),
        payload=bytes(row.payload),
        sequence=row.sequence,
        delivered=row.delivered,
        attempts=row.attempts,
    )
