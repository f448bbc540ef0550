"""The unit of work, and the stores that live inside it: webhook inbox, received events,
parked events, idempotency claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from application.ports.catalogue import OfferingRepository, SlotRepository, TenantRepository
from application.ports.events_out import Outbox
from application.ports.gateway import WebhookEndpoint
from application.ports.gateway_events import (
    PaymentAftermath,
)
from application.ports.repositories import BookingRepository, DisputeRepository, LedgerRepository


class WebhookInbox(Protocol):
    """Ids of the gateway events already processed, recorded with their effect."""

    async def record(self, event_id: str) -> bool:
        """True the first time an event id is recorded, False ever after."""
        ...

    async def seen(self, event_id: str) -> bool:
        """Whether the event id is recorded (committed, or in this unit of work). Only a
        shortcut: of two deliveries racing, both may find it unseen; `record` decides."""
        ...


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A verified gateway event waiting to be applied: its raw body as it arrived, and the
    endpoint it arrived at. `attempts` counts the claims so far, this one included."""

    event_id: str
    endpoint: WebhookEndpoint
    payload: bytes
    received_at: datetime
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """How many received events wait (claimed ones included), and since when the oldest."""

    count: int
    oldest_received_at: datetime | None


class ReceivedEvents(Protocol):
    """Verified events acknowledged to the gateway, waiting to be applied (the `queue`
    webhook mode). Applying stays exactly once through the WebhookInbox: this store only
    makes sure nothing acknowledged is lost."""

    async def receive(self, event: ReceivedEvent) -> bool:
        """Keep the event, due at once; False (nothing changed) when its id is queued
        already."""
        ...

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[ReceivedEvent]:
        """Up to `limit` events due by `now` that no one holds (or whose holder's lease ran
        out), oldest first, each held until `now + lease` and its `attempts` counted. Two
        units of work never claim the same event at once (PostgreSQL: rows locked with
        SKIP LOCKED; SQLite: one writer at a time)."""
        ...

    async def done(self, event_id: str) -> None:
        """Forget the event (applied, or found applied before). Nothing when it is gone."""
        ...

    async def retry_later(self, event_id: str, at: datetime, error: str) -> None:
        """Release the event's claim; due again at `at`. `error`: what went wrong, short
        (cut at 200 characters), never a secret."""
        ...

    async def depth(self) -> QueueDepth:
        """How many wait, and the oldest's arrival (for metrics)."""
        ...


class ParkedEvents(Protocol):
    """Refund and dispute events that named a payment no booking had yet.

    Stripe does not keep order: a charge's refund can be reported before the completion of
    the checkout that made the charge. Such an event waits here, keyed by its payment, and
    is applied when a booking is paid with that payment.
    """

    async def park(self, payment_intent_id: str, event: PaymentAftermath) -> bool:
        """Keep the event for the payment; False when this event id is already parked."""
        ...

    async def take(self, payment_intent_id: str) -> list[PaymentAftermath]:
        """Remove and return the payment's parked events, oldest first (by `created_at`)."""
        ...

    async def for_payment(self, payment_intent_id: str) -> list[PaymentAftermath]:
        """The payment's parked events, oldest first (by `created_at`), left parked."""
        ...

    async def remove(self, event_id: str) -> bool:
        """Unpark one event; False when it is not parked (any more): of two transactions
        removing it, one gets True."""
        ...

    async def payments(self) -> list[str]:
        """The payments that have parked events."""
        ...

    async def discard(self, created_before: datetime) -> list[str]:
        """Drop the events created before then, whose payment never came; their ids."""
        ...


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # first use of the key: go ahead, then store the response
    REPLAY = "replay"  # the same request already finished: answer its stored response
    IN_PROGRESS = "in_progress"  # the same request is still being processed
    MISMATCH = "mismatch"  # the key was used for a different request


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The outcome of an idempotent request, replayed verbatim on a retry."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    outcome: ClaimOutcome
    response: StoredResponse | None = None
    # CLAIMED: when this claim was made, which fences it (see store_response);
    # IN_PROGRESS: when the running claim was made (None: not known).
    claimed_at: datetime | None = None


class IdempotencyStore(Protocol):
    """Idempotency keys per scope (a tenant id, or a platform scope such as "admin")."""

    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime | None = None,
        stale_before: datetime | None = None,
    ) -> IdempotencyClaim:
        """Claim a key for a request with this fingerprint; exactly one claimant wins.

        A claim still in progress that was made before `stale_before` belongs to a request
        that died: it is taken over (CLAIMED, its time set to `now`) by exactly one caller.
        """
        ...

    async def store_response(
        self,
        scope: str,
        key: str,
        response: StoredResponse,
        *,
        claimed_at: datetime | None = None,
    ) -> None:
        """Store the response of a claimed key, to be replayed on retries; the first
        response stored stays. With `claimed_at` (the claim's CLAIMED time) only while
        that claim still holds the key: a request whose claim was taken over answers
        nothing for the key."""
        ...

    async def purge(self, created_before: datetime, limit: int) -> int:
        """Delete up to `limit` of the keys claimed before then; how many were deleted
        (0: none is left)."""
        ...

    async def release(self, scope: str, key: str, *, claimed_at: datetime | None = None) -> None:
        """Forget a claim whose request failed without effect, so a retry may run it; with
        `claimed_at`, only while that claim still holds the key (never the claim of the
        retry that took it over)."""
        ...


# Never open a second unit of work inside the first in the same task: SQLite serialises
# writers, so the second would wait for the first (the adapters refuse it at once instead).
class UnitOfWork(Protocol):
    """One transaction: `async with uow:` rolls back on exit unless `await uow.commit()`."""

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def offerings(self) -> OfferingRepository: ...

    @property
    def slots(self) -> SlotRepository: ...

    @property
    def bookings(self) -> BookingRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def disputes(self) -> DisputeRepository: ...

    @property
    def webhook_inbox(self) -> WebhookInbox: ...

    @property
    def received_events(self) -> ReceivedEvents: ...

    @property
    def parked_events(self) -> ParkedEvents: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def outbox(self) -> Outbox:
        """Events out (domain/events.py), written by `commit()` with the changes."""
        ...

    def read_only(self) -> Self:
        """Before `async with`: the use case promises that this unit of work only reads
        (what customers browse). An adapter may then read without taking a write lock or
        without a transaction at all, each read consistent by itself. No `commit()` is
        needed; a write may fail. Applies to the next `async with` only."""
        ...

    async def __aenter__(self) -> Self:
        """Begin a transaction."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed and end the transaction."""
        ...

    async def commit(self) -> None:
        """Make the changes so far durable and visible; the unit of work stays usable."""
        ...

    async def rollback(self) -> None:
        """Discard the changes since the last commit."""
        ...
