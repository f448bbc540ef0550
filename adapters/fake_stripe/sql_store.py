"""FakeStripeStore in the app's database, so every server process shares the fake.

Each call is its own short transaction: the fake's state changes are independent of the
app's units of work, just as Stripe's are. A call of one statement runs it alone (in
autocommit mode on PostgreSQL, which is that statement's own transaction); a call of
several (`create_once`, `commit`) is one transaction. The tables are the fake's own
(adapters/fake_stripe/tables.py), made by the store the first time it is used. How long
Stripe takes to answer is not the store's business: the gateway's `FakeLatency` is.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable

from adapters.fake_stripe.store import (
    FakeEvent,
    FakeObject,
    FakeWrite,
    Requirement,
    StaleFakeObject,
)
from adapters.fake_stripe.tables import (
    create_tables,
    fake_events,
    fake_idempotency_keys,
    fake_objects,
)
from adapters.fake_stripe.timings import FakeStripeTimings
from application.ports.gateway import WebhookEndpoint

_WHEN = fake_events.c.next_attempt_at.type


def _upsert(insert_into: Any, table: Table) -> Executable:
    """INSERT … ON CONFLICT (id) DO UPDATE SET <every other column> = the new row's value
    (a `version` column is bumped instead); execute it with the row as parameters."""
    statement = insert_into(table)
    changes = {c.name: statement.excluded[c.name] for c in table.c if c.name != "id"}
    if "version" in table.c:
        changes["version"] = table.c.version + 1
    upsert: Executable = statement.on_conflict_do_update(index_elements=[table.c.id], set_=changes)
    return upsert


class _Statements:
    """Every statement of the store, built once per dialect (building them per call cost
    more CPU than their round trips)."""

    def __init__(self, dialect: str) -> None:
        insert_into = sqlite_insert if dialect == "sqlite" else pg_insert
        keys, objects, events = fake_idempotency_keys, fake_objects, fake_events
        self.put_object = _upsert(insert_into, objects)
        self.update_object = (
            update(objects)
            .where(objects.c.id == bindparam("f_id"), objects.c.version == bindparam("f_version"))
            .values(
                kind=bindparam("f_kind"),
                account_id=bindparam("f_account_id"),
                body=bindparam("f_body", type_=objects.c.body.type),
                version=objects.c.version + 1,
            )
        )
        self.put_event = _upsert(insert_into, events)
        self.claim_event = (
            update(events)
            .where(
                events.c.id == bindparam("f_id"),
                events.c.delivered.is_(False),
                events.c.next_attempt_at <= bindparam("f_as_of", type_=_WHEN),
            )
            .values(next_attempt_at=bindparam("f_retry_at", type_=_WHEN))
            .returning(*events.c)
        )
        self.record_delivered = (
            update(events)
            .where(events.c.id == bindparam("f_id"))
            .values(attempts=events.c.attempts + 1, delivered=True, next_attempt_at=None)
            .returning(*events.c)
        )
        self.record_failed = (
            update(events)
            .where(events.c.id == bindparam("f_id"))
            .values(
                attempts=events.c.attempts + 1,
                next_attempt_at=case(
                    (events.c.delivered, None), else_=bindparam("f_retry_at", type_=_WHEN)
                ),
            )
            .returning(*events.c)
        )
        pending = events.c.delivered.is_(False) & events.c.next_attempt_at.is_not(None)
        self.due_events = (
            select(events)
            .where(pending, events.c.next_attempt_at <= bindparam("f_as_of", type_=_WHEN))
            .order_by(events.c.sequence)
            .limit(bindparam("f_limit"))
        )
        self.next_attempt = select(func.min(events.c.next_attempt_at)).where(pending)
        self.get_object = select(fake_objects).where(fake_objects.c.id == bindparam("f_id"))
        # An object with the one a field of its body names, in one statement (the statements
        # for each field are made on first use: `expanded`).
        self._expanded: dict[str, Executable] = {}
        self.get_event = select(fake_events).where(fake_events.c.id == bindparam("f_id"))
        self.bind_key = insert_into(keys).on_conflict_do_nothing().returning(keys.c.object_id)
        self.bound_key = select(keys.c.object_id).where(keys.c.key == bindparam("f_key"))
        self.list_objects = select(objects).where(objects.c.kind == bindparam("f_kind"))
        self.list_events = (
            select(events)
            .where(events.c.sequence < bindparam("f_before"))
            .order_by(events.c.sequence.desc())
            .limit(bindparam("f_limit"))
        )

    def expanded(self, field: str) -> Executable:
        statement = self._expanded.get(field)
        if statement is None:
            named = fake_objects.alias("named")
            names = fake_objects.c.body[field].as_string()
            statement = (
                select(
                    fake_objects,
                    *(column.label(f"named_{column.name}") for column in named.c),
                )
                .select_from(fake_objects.outerjoin(named, named.c.id == names))
                .where(fake_objects.c.id == bindparam("f_id"))
            )
            self._expanded[field] = statement
        return statement


# Above every event's sequence (a BIGINT), for a first page.
NO_SEQUENCE_ABOVE = 2**63 - 1


class SqlAlchemyFakeStripeStore:
    def __init__(self, engine: AsyncEngine, timings: FakeStripeTimings | None = None) -> None:
        """`timings`: where the wait for each connection and its holding are counted (the
        gateway's, for the benchmark)."""
        self._engine = engine
        self._timings = timings or FakeStripeTimings()
        self._postgres = engine.dialect.name == "postgresql"
        self._sql = _Statements(engine.dialect.name)
        self._last = 0
        self._tables_ready = False

    async def _ensure_tables(self) -> None:
        if not self._tables_ready:
            await create_tables(self._engine)
            self._tables_ready = True

    @asynccontextmanager
    async def _statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement, which commits on its own when it succeeds."""
        await self._ensure_tables()
        if self._postgres:
            async with self._timings.connection(self._engine.connect()) as conn:
                yield await conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            async with self._timings.connection(self._engine.begin()) as conn:
                yield conn

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose statements commit together, or not at all."""
        await self._ensure_tables()
        async with self._timings.connection(self._engine.begin()) as conn:
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

    @staticmethod
    def _object_row(obj: FakeObject) -> dict[str, Any]:
        return {
            "id": obj.id,
            "kind": obj.kind,
            "account_id": obj.account_id,
            "body": obj.body,
            "version": 1,
        }

    async def _put_object(self, conn: AsyncConnection, obj: FakeObject) -> None:
        if not obj.version:
            await conn.execute(self._sql.put_object, self._object_row(obj))
            return
        row = {f"f_{name}": value for name, value in self._object_row(obj).items()}
        updated = await conn.execute(self._sql.update_object, {**row, "f_version": obj.version})
        if updated.rowcount != 1:
            raise StaleFakeObject(f"{obj.id} changed since it was read")

    async def put_object(self, obj: FakeObject) -> None:
        async with self._statement() as conn:
            await self._put_object(conn, obj)

    async def commit(self, write: FakeWrite) -> str | None:
        async with self._transaction() as conn:
            if write.idempotency_key is not None and write.objects:
                key, first = write.idempotency_key, write.objects[0].id
                bound = await self._bind(conn, key, first)
                if bound != first:
                    return bound
            for obj in write.objects:
                await self._put_object(conn, obj)
            for event in write.events:
                await conn.execute(self._sql.put_event, _event_row(event))
        return None

    async def get_object(self, object_id: str) -> FakeObject | None:
        async with self._statement() as conn:
            return await self._get_object(conn, object_id)

    async def get_expanded(
        self, object_id: str, field: str
    ) -> tuple[FakeObject | None, FakeObject | None]:
        async with self._statement() as conn:
            result = await conn.execute(self._sql.expanded(field), {"f_id": object_id})
            row = result.first()
        if row is None:
            return None, None
        obj = FakeObject(row.id, dict(row.body), row.account_id, row.version)
        if row.named_id is None:
            return obj, None
        named = FakeObject(
            row.named_id, dict(row.named_body), row.named_account_id, row.named_version
        )
        return obj, named

    async def list_objects(self, kind: str) -> list[FakeObject]:
        async with self._statement() as conn:
            rows = await conn.execute(self._sql.list_objects, {"f_kind": kind})
            return [FakeObject(row.id, dict(row.body), row.account_id, row.version) for row in rows]

    async def _get_object(self, conn: AsyncConnection, object_id: str) -> FakeObject | None:
        row = (await conn.execute(self._sql.get_object, {"f_id": object_id})).first()
        if row is None:
            return None
        return FakeObject(row.id, dict(row.body), row.account_id, row.version)

    async def _bind(self, conn: AsyncConnection, key: str, object_id: str) -> str:
        # The key is bound to the first object: ON CONFLICT DO NOTHING returns no row when
        # it already was, and the binding is then read (keys are never unbound).
        bound = await conn.scalar(self._sql.bind_key, {"key": key, "object_id": object_id})
        if bound is None:
            bound = await conn.scalar(self._sql.bound_key, {"f_key": key})
        return str(bound)

    async def bind_idempotency_key(self, key: str, object_id: str) -> str:
        async with self._statement() as conn:
            return await self._bind(conn, key, object_id)

    async def create_once(
        self, key: str, obj: FakeObject, requires: Requirement | None = None
    ) -> FakeObject:
        # The object is stored no later than its key can point at it, in one transaction;
        # what it requires is read in it too (one connection per call: real Stripe's own
        # database work costs its caller nothing, so the stand-in keeps its share small).
        async with self._transaction() as conn:
            if requires is not None:
                requires.check(await self._get_object(conn, requires.object_id))
            await conn.execute(self._sql.put_object, self._object_row(obj))
            winner = await self._bind(conn, key, obj.id)
            if winner == obj.id:
                return obj
            existing = await self._get_object(conn, winner)
        assert existing is not None, "an idempotency key is bound to a stored object"
        return existing

    async def put_event(self, event: FakeEvent) -> None:
        async with self._statement() as conn:
            await conn.execute(self._sql.put_event, _event_row(event))

    async def get_event(self, event_id: str) -> FakeEvent | None:
        async with self._statement() as conn:
            row = (await conn.execute(self._sql.get_event, {"f_id": event_id})).first()
        return _event(row) if row is not None else None

    async def list_events(
        self, limit: int = 100, before_sequence: int | None = None
    ) -> list[FakeEvent]:
        before = NO_SEQUENCE_ABOVE if before_sequence is None else before_sequence
        async with self._statement() as conn:
            rows = await conn.execute(self._sql.list_events, {"f_limit": limit, "f_before": before})
            return [_event(row) for row in rows]

    async def due_events(self, as_of: datetime, limit: int = 100) -> list[FakeEvent]:
        async with self._statement() as conn:
            rows = await conn.execute(self._sql.due_events, {"f_as_of": as_of, "f_limit": limit})
            return [_event(row) for row in rows]

    async def next_attempt(self) -> datetime | None:
        async with self._statement() as conn:
            when: datetime | None = await conn.scalar(self._sql.next_attempt)
        return when

    async def claim_event(
        self, event_id: str, as_of: datetime, retry_at: datetime | None
    ) -> FakeEvent | None:
        parameters = {"f_id": event_id, "f_as_of": as_of, "f_retry_at": retry_at}
        async with self._statement() as conn:
            row = (await conn.execute(self._sql.claim_event, parameters)).first()
        return _event(row) if row is not None else None

    async def record_attempt(
        self, event_id: str, *, acknowledged: bool, retry_at: datetime | None
    ) -> FakeEvent:
        parameters: dict[str, Any] = {"f_id": event_id}
        if acknowledged:
            statement = self._sql.record_delivered
        else:
            statement = self._sql.record_failed
            parameters["f_retry_at"] = retry_at
        async with self._statement() as conn:
            row = (await conn.execute(statement, parameters)).one()
        return _event(row)


def _event_row(event: FakeEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "endpoint": event.endpoint.value,
        "created_at": event.created,
        "payload": event.payload,
        "sequence": event.sequence,
        "delivered": event.delivered,
        "attempts": event.attempts,
        "next_attempt_at": event.next_attempt_at,
    }


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
        next_attempt_at=row.next_attempt_at,
    )
