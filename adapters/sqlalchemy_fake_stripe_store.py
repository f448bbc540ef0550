"""FakeStripeStore in the app's own database, so every server process shares the fake.

Each call is its own short transaction: the fake's state changes are independent of the
app's units of work, just as Stripe's are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.fake_stripe_store import FakeEvent, FakeObject
from adapters.orm import fake_counters, fake_events, fake_idempotency_keys, fake_objects
from application.ports import WebhookEndpoint

_COUNTER = "ids"


class SqlAlchemyFakeStripeStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def next_number(self) -> int:
        async with self._engine.begin() as conn:
            value = await self._advance(conn)
            if value is None:
                try:
                    async with conn.begin_nested():
                        await conn.execute(insert(fake_counters).values(name=_COUNTER, value=0))
                except IntegrityError:
                    pass  # another process created the counter first
                value = await self._advance(conn)
        if value is None:
            raise RuntimeError("the fake gateway's id counter could not be advanced")
        return value

    @staticmethod
    async def _advance(conn: AsyncConnection) -> int | None:
        result = await conn.execute(
            update(fake_counters)
            .where(fake_counters.c.name == _COUNTER)
            .values(value=fake_counters.c.value + 1)
            .returning(fake_counters.c.value)
        )
        row = result.first()
        return int(row[0]) if row else None

    async def put_object(self, obj: FakeObject) -> None:
        values = {"kind": obj.kind, "account_id": obj.account_id, "body": obj.body}
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                update(fake_objects).where(fake_objects.c.id == obj.id).values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(fake_objects).values(id=obj.id, **values))

    async def get_object(self, object_id: str) -> FakeObject | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(fake_objects).where(fake_objects.c.id == object_id))
            ).first()
        if row is None:
            return None
        return FakeObject(row.id, dict(row.body), row.account_id)

    async def bind_idempotency_key(self, key: str, object_id: str) -> str:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(fake_idempotency_keys).values(key=key, object_id=object_id)
                )
            return object_id
        except IntegrityError:
            async with self._engine.connect() as conn:
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
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                update(fake_events).where(fake_events.c.id == event.id).values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(fake_events).values(id=event.id, **values))

    async def get_event(self, event_id: str) -> FakeEvent | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(fake_events).where(fake_events.c.id == event_id))
            ).first()
        return _event(row) if row is not None else None

    async def list_events(self, limit: int = 100) -> list[FakeEvent]:
        async with self._engine.connect() as conn:
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
