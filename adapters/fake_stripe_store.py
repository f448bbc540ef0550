"""Where the fake Stripe keeps its state, behind a narrow async interface.

Several server processes must see the same fake (a customer's Pay click may reach any of
them), so the production store is a database; the in-memory store here serves tests and a
single process. Objects are kept as the Stripe-shaped JSON the fake serves, keyed by their
Stripe-style id, which is unique across kinds (`acct_…`, `cs_test_…`, `pi_…`, `ch_…`, `re_…`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from application.errors import Conflict
from application.ports import WebhookEndpoint


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

    async def bind_idempotency_key(self, key: str, object_id: str) -> str:
        """Bind `key` to `object_id` unless it is bound already; the id it is bound to.

        Must be atomic: of two concurrent calls with the same key, one id wins for both.
        """
        ...

    async def create_once(self, key: str, obj: FakeObject) -> FakeObject:
        """Stripe's idempotency for a new object: store it and bind `key` to it, unless
        `key` is bound already; then the object it is bound to (the new one may remain
        stored, unreferenced). The same as `put_object` then `bind_idempotency_key`."""
        ...

    async def put_event(self, event: FakeEvent) -> None:
        """Insert or replace the event with this id."""
        ...

    async def get_event(self, event_id: str) -> FakeEvent | None: ...

    async def list_events(self, limit: int = 100) -> list[FakeEvent]:
        """The most recent events, newest (highest sequence) first."""
        ...


class InMemoryFakeStripeStore:
    """FakeStripeStore for one process; copies on the way in and out, like a database."""

    def __init__(self) -> None:
        self._counter = 0
        self._objects: dict[str, FakeObject] = {}
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
        self._objects[obj.id] = replace(obj, body=copy.deepcopy(obj.body), version=current + 1)

    async def get_object(self, object_id: str) -> FakeObject | None:
        obj = self._objects.get(object_id)
        return replace(obj, body=copy.deepcopy(obj.body)) if obj else None

    async def bind_idempotency_key(self, key: str, object_id: str) -> str:
        return self._keys.setdefault(key, object_id)

    async def create_once(self, key: str, obj: FakeObject) -> FakeObject:
        await self.put_object(obj)
        winner = self._keys.setdefault(key, obj.id)
        if winner == obj.id:
            return obj
        stored = await self.get_object(winner)
        assert stored is not None, "an idempotency key is bound to a stored object"
        return stored

    async def put_event(self, event: FakeEvent) -> None:
        self._events[event.id] = event

    async def get_event(self, event_id: str) -> FakeEvent | None:
        return self._events.get(event_id)

    async def list_events(self, limit: int = 100) -> list[FakeEvent]:
        newest_first = sorted(self._events.values(), key=lambda e: e.sequence, reverse=True)
        return newest_first[:limit]
