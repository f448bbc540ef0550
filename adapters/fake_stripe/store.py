"""Where the fake Stripe keeps its state, behind a narrow async interface.

Several server processes must see the same fake (a customer's Pay click may reach any of
them), so the store is a database (sql_store.py); the tests' in-memory double of it lives
in tests/fakes/fake_stripe_store.py, outside the product. Objects are kept as the
Stripe-shaped JSON the fake serves, keyed by their Stripe-style id, which is unique across
kinds (`acct_…`, `cs_test_…`, `pi_…`, `ch_…`, `re_…`).

Stripe's guarantees rest on two things every store keeps: a version on each object (a
write based on a stale read is refused, so two racing clicks cannot both charge or both
refund), and `commit`, which writes several objects, their events and an idempotency key
all at once or not at all (so a process killed halfway leaves nothing half-done, and an
event is stored with the change it describes, to be delivered from the store).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

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

    async def get_expanded(
        self, object_id: str, field: str
    ) -> tuple[FakeObject | None, FakeObject | None]:
        """The object and the one its body's `field` names (None when it names none or that
        one is not stored), read together, as Stripe answers with `expand=[field]`."""
        ...

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
