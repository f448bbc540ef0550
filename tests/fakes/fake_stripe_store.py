"""The fake Stripe's store for one process, in memory: a test double of FakeStripeStore
(adapters/fake_stripe/store.py), which the product runs on its database tables only."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import msgspec

from adapters.fake_stripe.store import (
    FakeEvent,
    FakeObject,
    FakeWrite,
    Requirement,
    StaleFakeObject,
)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """An object as the in-memory store keeps it: its body encoded once, as JSON."""

    id: str
    kind: str
    account_id: str | None
    version: int
    body: bytes

    def thaw(self) -> FakeObject:
        """A FakeObject of the caller's own: a body decoded anew, which nothing else holds."""
        return FakeObject(self.id, _decode(self.body), self.account_id, self.version)


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode


class InMemoryFakeStripeStore:
    """FakeStripeStore for one process; copies on the way in and out, like a database.

    A body is stored as the JSON a database would keep (encoded on write, decoded on every
    read), so no caller ever holds a part of what is stored: decoding JSON is several times
    cheaper than deep-copying the body on both ways, and each request reads many objects.
    """

    def __init__(self) -> None:
        self._counter = 0
        self._objects: dict[str, _Snapshot] = {}
        self._keys: dict[str, str] = {}
        self._events: dict[str, FakeEvent] = {}

    async def next_number(self) -> int:
        self._counter += 1
        return self._counter

    async def put_object(self, obj: FakeObject) -> None:
        stored = self._objects.get(obj.id)
        current = stored.version if stored else 0
        if obj.version and obj.version != current:
            raise StaleFakeObject(f"{obj.id} changed since it was read")
        self._objects[obj.id] = _Snapshot(
            obj.id, obj.kind, obj.account_id, current + 1, _encode(obj.body)
        )

    async def get_object(self, object_id: str) -> FakeObject | None:
        stored = self._objects.get(object_id)
        return stored.thaw() if stored else None

    async def get_expanded(
        self, object_id: str, field: str
    ) -> tuple[FakeObject | None, FakeObject | None]:
        obj = await self.get_object(object_id)
        named = None if obj is None else obj.body.get(field)
        return obj, (await self.get_object(named) if isinstance(named, str) else None)

    async def list_objects(self, kind: str) -> list[FakeObject]:
        return [stored.thaw() for stored in self._objects.values() if stored.kind == kind]

    async def bind_idempotency_key(self, key: str, object_id: str) -> str:
        return self._keys.setdefault(key, object_id)

    async def create_once(
        self, key: str, obj: FakeObject, requires: Requirement | None = None
    ) -> FakeObject:
        if requires is not None:
            requires.check(await self.get_object(requires.object_id))
        await self.put_object(obj)
        winner = self._keys.setdefault(key, obj.id)
        if winner == obj.id:
            return obj
        stored = await self.get_object(winner)
        assert stored is not None, "an idempotency key is bound to a stored object"
        return stored

    async def commit(self, write: FakeWrite) -> str | None:
        key = write.idempotency_key
        if key is not None and key in self._keys:
            return self._keys[key]
        for obj in write.objects:
            stored = self._objects.get(obj.id)
            if obj.version and obj.version != (stored.version if stored else 0):
                raise StaleFakeObject(f"{obj.id} changed since it was read")
        for obj in write.objects:
            await self.put_object(obj)
        for event in write.events:
            self._events[event.id] = event
        if key is not None and write.objects:
            self._keys[key] = write.objects[0].id
        return None

    async def put_event(self, event: FakeEvent) -> None:
        self._events[event.id] = event

    def _pending(self) -> list[FakeEvent]:
        return [e for e in self._events.values() if not e.delivered and e.next_attempt_at]

    async def due_events(self, as_of: datetime, limit: int = 100) -> list[FakeEvent]:
        due = [e for e in self._pending() if e.next_attempt_at and e.next_attempt_at <= as_of]
        return sorted(due, key=lambda e: e.sequence)[:limit]

    async def next_attempt(self) -> datetime | None:
        return min((e.next_attempt_at for e in self._pending() if e.next_attempt_at), default=None)

    async def claim_event(
        self, event_id: str, as_of: datetime, retry_at: datetime | None
    ) -> FakeEvent | None:
        event = self._events.get(event_id)
        if event is None or event.delivered or not event.next_attempt_at:
            return None
        if event.next_attempt_at > as_of:
            return None
        self._events[event_id] = replace(event, next_attempt_at=retry_at)
        return self._events[event_id]

    async def record_attempt(
        self, event_id: str, *, acknowledged: bool, retry_at: datetime | None
    ) -> FakeEvent:
        event = self._events[event_id]
        delivered = event.delivered or acknowledged
        self._events[event_id] = replace(
            event,
            attempts=event.attempts + 1,
            delivered=delivered,
            next_attempt_at=None if delivered else retry_at,
        )
        return self._events[event_id]

    async def get_event(self, event_id: str) -> FakeEvent | None:
        return self._events.get(event_id)

    async def list_events(
        self, limit: int = 100, before_sequence: int | None = None
    ) -> list[FakeEvent]:
        newest_first = sorted(
            (
                e
                for e in self._events.values()
                if before_sequence is None or e.sequence < before_sequence
            ),
            key=lambda e: e.sequence,
            reverse=True,
        )
        return newest_first[:limit]
