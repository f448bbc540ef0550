"""In-memory doubles of the events-out ports: the outbox inside a unit of work, the store of
endpoints and deliveries with its unit of work, and a sender that records what it sent."""

from __future__ import annotations

import asyncio
import builtins
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Self

from application.ports.events_out import (
    Delivery,
    DueDelivery,
    NewDelivery,
    OutboundMessage,
    OutboundStats,
)
from domain.events import DeliveryStatus, EndpointStatus, Event, InFlightCaps, WebhookEndpoint


class InMemoryOutbox:
    """The events of one unit of work; its commit publishes `pending`."""

    def __init__(self) -> None:
        self.pending: list[Event] = []

    def add(self, *events: Event) -> None:
        self.pending.extend(events)


@dataclass
class _State:
    endpoints: dict[str, WebhookEndpoint] = field(default_factory=dict)
    messages: dict[str, OutboundMessage] = field(default_factory=dict)
    undispatched: list[str] = field(default_factory=list)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    # Delivery id -> the end of its lease while in flight (claimed, outcome not recorded).
    leases: dict[str, datetime] = field(default_factory=dict)

    def copy(self) -> _State:
        """A working copy: new containers, the same entries (every one is immutable)."""
        return _State(
            dict(self.endpoints),
            dict(self.messages),
            list(self.undispatched),
            dict(self.deliveries),
            dict(self.leases),
        )


class InMemoryEventsOut:
    """Endpoints, the outbox and the deliveries, shared by the units of work made from it."""

    def __init__(self) -> None:
        self.state = _State()
        self._lock = asyncio.Lock()
        self._counter = 0

    def unit_of_work(self) -> InMemoryEventsOutUnitOfWork:
        return InMemoryEventsOutUnitOfWork(self)

    def publish(self, events: Sequence[Event], now: datetime) -> list[OutboundMessage]:
        """Events committed by use cases, as the SQL outbox writes them."""
        published = []
        for event in events:
            self._counter += 1
            event_id = f"evt_{self._counter:06d}"
            body = {
                "id": event_id,
                "type": event.type.value,
                "created_at": now.isoformat(),
                "tenant_id": event.tenant_id,
                "data": {"id": event.subject.id},
            }
            message = OutboundMessage(
                event_id, event.type, event.tenant_id, now, json.dumps(body).encode()
            )
            self.state.messages[event_id] = message
            self.state.undispatched.append(event_id)
            published.append(message)
        return published


class InMemoryEventsOutUnitOfWork:
    def __init__(self, store: InMemoryEventsOut) -> None:
        self._store = store
        self._working: _State | None = None

    def _active(self) -> _State:
        if self._working is None:
            raise RuntimeError("use the unit of work inside `async with uow:`")
        return self._working

    @property
    def endpoints(self) -> InMemoryEndpoints:
        return InMemoryEndpoints(self._active())

    @property
    def deliveries(self) -> InMemoryDeliveries:
        return InMemoryDeliveries(self._active())

    async def __aenter__(self) -> Self:
        await self._store._lock.acquire()
        self._working = self._store.state.copy()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._working = None
        self._store._lock.release()

    async def commit(self) -> None:
        self._store.state = self._active().copy()


class InMemoryEndpoints:
    def __init__(self, state: _State) -> None:
        self._s = state

    async def add(self, endpoint: WebhookEndpoint, *, max_per_owner: int | None = None) -> bool:
        owned = sum(
            e.owner_tenant_id == endpoint.owner_tenant_id for e in self._s.endpoints.values()
        )
        if max_per_owner is not None and owned >= max_per_owner:
            return False
        self._s.endpoints[endpoint.id] = endpoint
        return True

    async def get(self, endpoint_id: str, owner_tenant_id: str | None) -> WebhookEndpoint | None:
        found = self._s.endpoints.get(endpoint_id)
        return found if found is not None and found.owner_tenant_id == owner_tenant_id else None

    async def get_any(self, endpoint_ids: Sequence[str]) -> list[WebhookEndpoint]:
        return [self._s.endpoints[i] for i in endpoint_ids if i in self._s.endpoints]

    async def list(
        self, owner_tenant_id: str | None, *, after: str | None, limit: int
    ) -> builtins.list[WebhookEndpoint]:
        mine = sorted(
            (e for e in self._s.endpoints.values() if e.owner_tenant_id == owner_tenant_id),
            key=lambda e: e.id,
        )
        return [e for e in mine if after is None or e.id > after][:limit]

    async def enabled(self) -> builtins.list[WebhookEndpoint]:
        return [e for e in self._s.endpoints.values() if e.status is EndpointStatus.ENABLED]

    async def update(self, endpoint: WebhookEndpoint) -> None:
        if endpoint.id in self._s.endpoints:
            self._s.endpoints[endpoint.id] = endpoint

    async def delete(self, endpoint_id: str, owner_tenant_id: str | None) -> bool:
        if await self.get(endpoint_id, owner_tenant_id) is None:
            return False
        del self._s.endpoints[endpoint_id]
        for delivery_id in [
            d.id for d in self._s.deliveries.values() if d.endpoint_id == endpoint_id
        ]:
            del self._s.deliveries[delivery_id]
        return True


class InMemoryDeliveries:
    def __init__(self, state: _State) -> None:
        self._s = state

    async def claim_undispatched(self, limit: int) -> list[OutboundMessage]:
        return [self._s.messages[i] for i in self._s.undispatched[:limit]]

    async def dispatch(self, event_ids: Sequence[str], deliveries: Sequence[NewDelivery]) -> None:
        for new in deliveries:
            self._s.deliveries[new.delivery_id] = Delivery(
                id=new.delivery_id,
                endpoint_id=new.endpoint_id,
                event_id=new.message.event_id,
                type=new.message.type,
                tenant_id=new.message.tenant_id,
                status=DeliveryStatus.PENDING,
                attempts=0,
                last_response_status=None,
                next_attempt_at=new.next_attempt_at,
                created_at=new.next_attempt_at,
            )
        self._s.undispatched = [i for i in self._s.undispatched if i not in set(event_ids)]

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, caps: InFlightCaps
    ) -> list[DueDelivery]:
        """As the SQL one: endpoint caps, then owner caps, then owners in turn."""

        def owner(delivery: Delivery) -> str:
            endpoint = self._s.endpoints.get(delivery.endpoint_id)
            return (endpoint.owner_tenant_id or "") if endpoint is not None else ""

        flying = [
            self._s.deliveries[i]
            for i, until in self._s.leases.items()
            if until > now and self._s.deliveries[i].status is DeliveryStatus.PENDING
        ]
        endpoint_busy = Counter(d.endpoint_id for d in flying)
        owner_busy = Counter(owner(d) for d in flying)
        due = sorted(
            (
                d
                for d in self._s.deliveries.values()
                if d.status is DeliveryStatus.PENDING
                and d.next_attempt_at is not None
                and d.next_attempt_at <= now
                and not self._waits(d)
            ),
            key=lambda d: (d.next_attempt_at or now, d.id),
        )
        ranked: list[tuple[int, datetime, str]] = []
        for d in due:
            endpoint_busy[d.endpoint_id] += 1
            if endpoint_busy[d.endpoint_id] > caps.per_endpoint:
                continue
            owner_busy[owner(d)] += 1
            if owner_busy[owner(d)] <= caps.per_owner:
                ranked.append((owner_busy[owner(d)], d.next_attempt_at or now, d.id))
        claimed = []
        for _, _, delivery_id in sorted(ranked)[:limit]:
            delivery = self._s.deliveries[delivery_id]
            leased = replace(delivery, attempts=delivery.attempts + 1, next_attempt_at=lease_until)
            self._s.deliveries[delivery.id] = leased
            self._s.leases[delivery.id] = lease_until
            claimed.append(DueDelivery(leased, self._s.messages[delivery.event_id].body))
        return claimed

    async def record(
        self,
        delivery_id: str,
        *,
        attempt: int,
        status: DeliveryStatus,
        response_status: int | None,
        next_attempt_at: datetime | None,
    ) -> bool:
        delivery = self._s.deliveries.get(delivery_id)
        if (
            delivery is None
            or delivery.attempts != attempt
            or delivery.status is not DeliveryStatus.PENDING
        ):
            return False
        self._s.leases.pop(delivery_id, None)
        self._s.deliveries[delivery_id] = replace(
            delivery,
            status=status,
            last_response_status=response_status,
            next_attempt_at=next_attempt_at,
        )
        return True

    def _waits(self, delivery: Delivery) -> bool:
        """Its endpoint is disabled: pending, not due until the endpoint is enabled."""
        endpoint = self._s.endpoints.get(delivery.endpoint_id)
        return endpoint is not None and endpoint.status is EndpointStatus.DISABLED

    async def purge(self, finished_before: datetime, limit: int) -> int:
        finished = [
            d.id
            for d in self._s.deliveries.values()
            if (d.status is not DeliveryStatus.PENDING or self._waits(d))
            and d.created_at < finished_before
        ][:limit]
        for delivery_id in finished:
            del self._s.deliveries[delivery_id]
        needed = {d.event_id for d in self._s.deliveries.values()}
        spent = [
            m.event_id
            for m in self._s.messages.values()
            if m.event_id not in self._s.undispatched
            and m.event_id not in needed
            and m.created_at < finished_before
        ][:limit]
        for event_id in spent:
            del self._s.messages[event_id]
        return len(finished) + len(spent)

    async def get(self, delivery_id: str) -> Delivery | None:
        return self._s.deliveries.get(delivery_id)

    async def list_for_endpoint(
        self,
        endpoint_id: str,
        *,
        status: DeliveryStatus | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Delivery]:
        found = sorted(
            (
                d
                for d in self._s.deliveries.values()
                if d.endpoint_id == endpoint_id and (status is None or d.status is status)
            ),
            key=lambda d: (d.created_at, d.id),
            reverse=True,
        )
        return [d for d in found if after is None or (d.created_at, d.id) < after][:limit]

    async def retry_now(self, delivery_id: str, now: datetime) -> None:
        delivery = self._s.deliveries[delivery_id]
        self._s.leases.pop(delivery_id, None)
        self._s.deliveries[delivery_id] = replace(
            delivery, status=DeliveryStatus.PENDING, next_attempt_at=now
        )

    async def stats(self, now: datetime) -> OutboundStats:
        deliveries = list(self._s.deliveries.values())
        due = [
            d.next_attempt_at
            for d in deliveries
            if d.status is DeliveryStatus.PENDING
            and d.next_attempt_at is not None
            and d.next_attempt_at <= now
            and not self._waits(d)
        ]
        return OutboundStats(
            attempted=sum(d.attempts for d in deliveries),
            delivered=sum(d.status is DeliveryStatus.DELIVERED for d in deliveries),
            failed=sum(d.status is DeliveryStatus.FAILED for d in deliveries),
            oldest_due_since=min(due) if due else None,
        )


@dataclass(frozen=True, slots=True)
class Sent:
    url: str
    message_id: str
    body: bytes
    secrets: tuple[str, ...]


class RecordingSender:
    """Answers each POST with `answer(url)` (a status, or None for no answer; or an awaitable
    of one, for an endpoint that takes its time) and keeps it, as soon as it is sent."""

    def __init__(
        self, answer: Callable[[str], int | Awaitable[int | None] | None] = lambda _: 200
    ) -> None:
        self.answer = answer
        self.sent: list[Sent] = []

    async def send(
        self,
        url: str,
        *,
        message_id: str,
        body: bytes,
        secrets: Sequence[str],
        timestamp: datetime,
    ) -> int | None:
        self.sent.append(Sent(url, message_id, body, tuple(secrets)))
        answer = self.answer(url)
        if isinstance(answer, Awaitable):
            return await answer
        return answer
