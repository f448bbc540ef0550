"""Ports of events out: the outbox a use case writes events to (inside its own unit of
work), the stores of endpoints and deliveries the relay and the endpoint routes use, and
the sender that POSTs a signed event.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from domain.events import DeliveryStatus, Event, EventType, InFlightCaps, WebhookEndpoint
from domain.ledger import LedgerEntry


class Outbox(Protocol):
    """Events written with the unit of work's changes: by its next `commit()`, in the same
    transaction, or not at all (a rollback, or leaving without a commit, drops them)."""

    def add(self, *events: Event) -> None: ...


class EventPayloads(Protocol):
    """The `data` of an event: the tenant's view of its subject at that moment, as JSON-ready
    builtins (for a booking, with its ledger entries)."""

    def render(self, event: Event, ledger: Sequence[LedgerEntry]) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """An event as written: `body` is the exact JSON every endpoint receives (and signs)."""

    event_id: str
    type: EventType
    tenant_id: str
    created_at: datetime
    body: bytes


@dataclass(frozen=True, slots=True)
class NewDelivery:
    delivery_id: str
    endpoint_id: str
    message: OutboundMessage
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to one endpoint. `attempts` counts the tries made (a claimed delivery
    counts the try in progress); `last_response_status` None: no answer yet, or none."""

    id: str
    endpoint_id: str
    event_id: str
    type: EventType
    tenant_id: str
    status: DeliveryStatus
    attempts: int
    last_response_status: int | None
    next_attempt_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DueDelivery:
    delivery: Delivery
    body: bytes


@dataclass(frozen=True, slots=True)
class OutboundStats:
    """For metrics: tries made, deliveries delivered and failed, and when the oldest
    delivery that is due now became due (None: nothing due)."""

    attempted: int
    delivered: int
    failed: int
    oldest_due_since: datetime | None


class WebhookEndpointRepository(Protocol):
    """Endpoints by owner: `owner_tenant_id` None is the platform's (admin routes)."""

    async def add(self, endpoint: WebhookEndpoint, *, max_per_owner: int | None = None) -> bool:
        """Adds the endpoint unless its owner has `max_per_owner` endpoints already (then
        False, nothing added). Two registrations of one owner at once are counted one
        after the other, so the cap holds under concurrency too."""
        ...

    async def get(self, endpoint_id: str, owner_tenant_id: str | None) -> WebhookEndpoint | None:
        """The owner's endpoint; None for another owner's."""
        ...

    async def get_any(self, endpoint_ids: Sequence[str]) -> list[WebhookEndpoint]:
        """Endpoints by id, whoever owns them (the relay)."""
        ...

    async def list(
        self, owner_tenant_id: str | None, *, after: str | None, limit: int
    ) -> builtins.list[WebhookEndpoint]:
        """The owner's endpoints by id, after the id `after`."""
        ...

    async def enabled(self) -> builtins.list[WebhookEndpoint]: ...

    async def update(self, endpoint: WebhookEndpoint) -> None: ...

    async def delete(self, endpoint_id: str, owner_tenant_id: str | None) -> bool:
        """False when the owner has no such endpoint. Its deliveries go with it."""
        ...


class DeliveryRepository(Protocol):
    """The outbox as the relay sees it, and the delivery log.

    The `claim_*` methods lock what they return against other relays until the unit of
    work ends (on PostgreSQL `FOR UPDATE SKIP LOCKED`: concurrent relays take different
    rows; on SQLite the write lock serialises them).
    """

    async def claim_undispatched(self, limit: int) -> builtins.list[OutboundMessage]:
        """Events not yet fanned out to endpoints, oldest first."""
        ...

    async def dispatch(self, event_ids: Sequence[str], deliveries: Sequence[NewDelivery]) -> None:
        """Mark the events fanned out and add their deliveries."""
        ...

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, caps: InFlightCaps
    ) -> builtins.list[DueDelivery]:
        """Up to `limit` pending deliveries due by `now`, fairly: no endpoint and no owner
        (the endpoint's tenant, or the platform) beyond its cap of deliveries in flight
        (claimed with a lease not yet ended, counting those claimed before), and each
        owner's oldest due in turn (round robin), so one owner's backlog never fills the
        batch. A disabled endpoint's deliveries are not due: they stay pending until it is
        enabled again. Each counts a try and is in flight, not due again, until `lease_until` (so
        one whose relay died is tried again then) or until its outcome is recorded."""
        ...

    async def record(
        self,
        delivery_id: str,
        *,
        attempt: int,
        status: DeliveryStatus,
        response_status: int | None,
        next_attempt_at: datetime | None,
    ) -> bool:
        """The outcome of the try `attempt` (the `attempts` its claim returned): the
        delivery is no longer in flight. Fenced: False, and nothing changed, when that is no
        longer the delivery's latest try or it is no longer pending (a relay that outlived
        its lease, whose delivery another relay claimed again or finished)."""
        ...

    async def purge(self, finished_before: datetime, limit: int) -> int:
        """Delete up to `limit` delivered or failed deliveries made before
        `finished_before` (and pending ones waiting for an endpoint still disabled), and the
        dispatched events made before it that no delivery needs any more; the number of
        rows deleted (0: nothing left to purge)."""
        ...

    async def get(self, delivery_id: str) -> Delivery | None: ...

    async def list_for_endpoint(
        self,
        endpoint_id: str,
        *,
        status: DeliveryStatus | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> builtins.list[Delivery]:
        """Newest first, after the (created_at, id) `after` in that order."""
        ...

    async def retry_now(self, delivery_id: str, now: datetime) -> None:
        """Pending again, due now (its tries so far kept)."""
        ...

    async def stats(self, now: datetime) -> OutboundStats:
        """`oldest_due_since` leaves out what waits for a disabled endpoint."""
        ...


class EventsOutUnitOfWork(Protocol):
    """One transaction over endpoints and deliveries: rolls back on exit unless committed."""

    @property
    def endpoints(self) -> WebhookEndpointRepository: ...

    @property
    def deliveries(self) -> DeliveryRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class EventSender(Protocol):
    """POST one event to an endpoint, signed per Standard Webhooks with each secret."""

    async def send(
        self,
        url: str,
        *,
        message_id: str,
        body: bytes,
        secrets: Sequence[str],
        timestamp: datetime,
    ) -> int | None:
        """The response's status; None when there was no answer in time, the connection
        failed, or the address is refused (private or loopback where not allowed). Never
        follows a redirect (a 3xx is an answer, and not a success). Raises nothing."""
        ...
