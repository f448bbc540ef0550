"""Where the fake Stripe keeps its state, behind a narrow async interface.

Several server processes must see the same fake (a customer's Pay click may reach any of
them), so the production store is a database; the in-memory store here serves tests and a
single process. Objects are kept as the Stripe-shaped JSON the fake serves, keyed by their
Stripe-style id, which is unique across kinds (`acct_…`, `cs_test_…`, `pi_…`, `ch_…`, `re_…`).

Stripe's guarantees rest on two things every store keeps: a version on each object (a
write based on a stale read is refused, so two racing clicks cannot both charge or both
refund), and `commit`, which writes several objects, their events and an idempotency key
all at once or not at all (so a process killed halfway leaves nothing half-done, and an
event is stored with the change it describes, to be delivered from the store).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import msgspec

from application.errors import Conflict
from application.ports.gateway import WebhookEndpoint


class StaleFakeObject(Conflict):
    """The object changed since it was read (two clicks raced); nothing was written."""


@dataclass(frozen=True, slots=True)
class FakeObject:
    """One Stripe-shaped object and the connected account it lives on (None: the platform).

    `version` is the store's: 0 for an object never read from the store, else the version
    it was read at, so that writing it back fails if someone else wrote in between.
    """

    id: str
    body: dict[str, Any]
    account_id: str | None = None
    version: int = 0

    @property
    def kind(self) -> str:
        return str(self.body.get("object", ""))


@dataclass(frozen=True, slots=True)
class FakeEvent:
    """An event the fake sent (or tries to send) to one webhook endpoint."""

    id: str
    type: str
    created: datetime
    endpoint: WebhookEndpoint
    payload: bytes
    sequence: int
    delivered: bool = False
    attempts: int = 0
    # When the next delivery attempt is due; None once delivered or given up.
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FakeWrite:
    """One change of the fake's state, applied whole or not at all by `commit`.

    `objects` are written like `put_object` (an object read at version n only while the
    stored one is still at n); `events` are inserted; `idempotency_key`, when given, is
    bound to the first object, and when it is bound already nothing is written.
    """

    objects: tuple[FakeObject, ...] = ()
    events: tuple[FakeEvent, ...] = ()
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Requirement:
    """What must hold of a stored object (or of its absence, None) for a write to happen:
    `check` raises when it does not, and then nothing is written. The object is read in the
    write's own transaction (a checkout session needs an account that can take charges)."""

    object_id: str
    check: Callable[[FakeObject | None], None]


class FakeStripeStore(Protocol):
    """The fake gateway's state: objects, idempotency keys, events."""

    async def next_number(self) -> int:
        """A number never handed out before by this store (ids are built from it)."""
        ...

    async def put_object(self, obj: FakeObject) -> None:
        """Insert or replace the object with this id.

        A store that keeps versions writes an object read at version n only while the
        stored version is still n (else StaleFakeObject), and bumps it; one that does not
        (version always 0) writes unconditionally, and two racing clicks may both succeed.
        """
        ...

    async def get_object(self, object_id: str) -> FakeObject | None: ...

    async def list_objects(self, kind: str) -> list[FakeObject]:
        """Every stored object of one kind (`charge`, `refund`, …), in no particular order."""
        ...

    async def bind_idempotency_key(self, key: str, object_id: str) -> str:
        """Bind `key` to `object_id` unless it is bound already; the id it is bound to.

        Must be atomic: of two concurrent calls with the same key, one id wins for both.
        """
        ...

    async def create_once(
        self, key: str, obj: FakeObject, requires: Requirement | None = None
    ) -> FakeObject:
        """Stripe's idempotency for a new object: store it and bind `key` to it, unless
        `key` is bound already; then the object it is bound to (the new one may remain
        stored, unreferenced). The same as `put_object` then `bind_idempotency_key`.
        `requires`: checked first, on the object as stored (what it raises, nothing
        written); a database store reads it in the same transaction as the write."""
        ...

    async def commit(self, write: FakeWrite) -> str | None:
        """Apply the whole write atomically.

        Returns None when it was written; the id of the object the write's idempotency key
        was already bound to, when it was not (then nothing was written). Raises
        StaleFakeObject, writing nothing, when an object changed since it was read.
        """
        ...

    async def put_event(self, event: FakeEvent) -> None:
        """Insert or replace the event with this id."""
        ...

    async def due_events(self, as_of: datetime, limit: int = 100) -> list[FakeEvent]:
        """Undelivered events whose next attempt is due at `as_of`, oldest first."""
        ...

    async def next_attempt(self) -> datetime | None:
        """When the earliest pending delivery attempt is due; None when none is pending."""
        ...

    async def claim_event(
        self, event_id: str, as_of: datetime, retry_at: datetime | None
    ) -> FakeEvent | None:
        """Take the event's due attempt: only while it is undelivered and due at `as_of`,
        and then its next attempt moves to `retry_at` (should this attempt be lost with its
        process). None when it is not due (delivered, given up, or taken by another)."""
        ...

    async def record_attempt(
        self, event_id: str, *, acknowledged: bool, retry_at: datetime | None
    ) -> FakeEvent:
        """Count one delivery attempt: delivered when acknowledged (no next attempt then),
        else the next attempt is due at `retry_at` (None: given up)."""
        ...

    async def get_event(self, event_id: str) -> FakeEvent | None: ...

    async def list_events(
        self, limit: int = 100, before_sequence: int | None = None
    ) -> list[FakeEvent]:
        """The most recent events (those before `before_sequence` when given), newest
        (highest sequence) first."""
        ...


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
