"""Webhook endpoints and deliveries (application/ports/events_out.py), and the unit of
work the endpoint routes and the relay use."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql import orm
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from application.ports.events_out import (
    Delivery,
    DueDelivery,
    NewDelivery,
    OutboundMessage,
    OutboundStats,
)
from domain.events import DeliveryStatus, EndpointStatus, EventType, WebhookEndpoint

_E = orm.webhook_endpoints.c
_O = orm.outbox_events.c
_D = orm.webhook_deliveries.c


def _endpoint(row: Row[Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        tenant_id=row.for_tenant_id,
        owner_tenant_id=row.owner_tenant_id,
        events=tuple(EventType(t) for t in row.events),
        status=EndpointStatus(row.status),
        secret=row.secret,
        created_at=row.created_at,
        description=row.description,
        previous_secret=row.previous_secret,
        previous_secret_until=row.previous_secret_until,
        failing_since=row.failing_since,
    )


def _endpoint_values(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "owner_tenant_id": endpoint.owner_tenant_id,
        "for_tenant_id": endpoint.tenant_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": [t.value for t in endpoint.events],
        "status": endpoint.status.value,
        "secret": endpoint.secret,
        "previous_secret": endpoint.previous_secret,
        "previous_secret_until": endpoint.previous_secret_until,
        "failing_since": endpoint.failing_since,
        "created_at": endpoint.created_at,
    }


def _owner_is(owner_tenant_id: str | None) -> Any:
    if owner_tenant_id is None:
        return _E.owner_tenant_id.is_(None)
    return _E.owner_tenant_id == owner_tenant_id


class SqlAlchemyWebhookEndpointRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, endpoint: WebhookEndpoint) -> None:
        await self._connection.execute(insert(orm.webhook_endpoints), _endpoint_values(endpoint))

    async def get(self, endpoint_id: str, owner_tenant_id: str | None) -> WebhookEndpoint | None:
        query = select(orm.webhook_endpoints).where(
            _E.id == endpoint_id, _owner_is(owner_tenant_id)
        )
        row = (await self._connection.execute(query)).first()
        return _endpoint(row) if row is not None else None

    async def get_any(self, endpoint_ids: Sequence[str]) -> builtins.list[WebhookEndpoint]:
        if not endpoint_ids:
            return []
        query = select(orm.webhook_endpoints).where(_E.id.in_(list(endpoint_ids)))
        return [_endpoint(r) for r in await self._connection.execute(query)]

    async def list(
        self, owner_tenant_id: str | None, *, after: str | None, limit: int
    ) -> builtins.list[WebhookEndpoint]:
        query = select(orm.webhook_endpoints).where(_owner_is(owner_tenant_id))
        if after is not None:
            query = query.where(_E.id > after)
        query = query.order_by(_E.id).limit(limit)
        return [_endpoint(r) for r in await self._connection.execute(query)]

    async def enabled(self) -> builtins.list[WebhookEndpoint]:
        query = select(orm.webhook_endpoints).where(_E.status == EndpointStatus.ENABLED.value)
        return [_endpoint(r) for r in await self._connection.execute(query)]

    async def update(self, endpoint: WebhookEndpoint) -> None:
        values = _endpoint_values(endpoint)
        del values["id"], values["created_at"], values["owner_tenant_id"]
        await self._connection.execute(
            update(orm.webhook_endpoints).where(_E.id == endpoint.id).values(**values)
        )

    async def delete(self, endpoint_id: str, owner_tenant_id: str | None) -> bool:
        owned = select(_E.id).where(_E.id == endpoint_id, _owner_is(owner_tenant_id))
        if (await self._connection.execute(owned)).first() is None:
            return False
        # SQLite enforces no foreign keys by default: the deliveries go explicitly.
        await self._connection.execute(
            delete(orm.webhook_deliveries).where(_D.endpoint_id == endpoint_id)
        )
        await self._connection.execute(delete(orm.webhook_endpoints).where(_E.id == endpoint_id))
        return True


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        type=EventType(row.type),
        tenant_id=row.tenant_id,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_response_status=row.last_response_status,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )


class SqlAlchemyDeliveryRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim_undispatched(self, limit: int) -> builtins.list[OutboundMessage]:
        query = (
            select(orm.outbox_events)
            .where(_O.dispatched.is_(False))
            .order_by(_O.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [
            OutboundMessage(r.id, EventType(r.type), r.tenant_id, r.created_at, bytes(r.body))
            for r in await self._connection.execute(query)
        ]

    async def dispatch(self, event_ids: Sequence[str], deliveries: Sequence[NewDelivery]) -> None:
        if deliveries:
            await self._connection.execute(
                insert(orm.webhook_deliveries),
                [
                    {
                        "id": d.delivery_id,
                        "tenant_id": d.message.tenant_id,
                        "event_id": d.message.event_id,
                        "endpoint_id": d.endpoint_id,
                        "type": d.message.type.value,
                        "status": DeliveryStatus.PENDING.value,
                        "attempts": 0,
                        "last_response_status": None,
                        "next_attempt_at": d.next_attempt_at,
                        "created_at": d.next_attempt_at,
                    }
                    for d in deliveries
                ],
            )
        if event_ids:
            await self._connection.execute(
                update(orm.outbox_events).where(_O.id.in_(list(event_ids))).values(dispatched=True)
            )

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> builtins.list[DueDelivery]:
        query = (
            select(orm.webhook_deliveries, _O.body)
            .join(
                orm.outbox_events,
                and_(_O.tenant_id == _D.tenant_id, _O.id == _D.event_id),
            )
            .where(_D.status == DeliveryStatus.PENDING.value, _D.next_attempt_at <= now)
            .order_by(_D.next_attempt_at)
            .limit(limit)
            .with_for_update(of=orm.webhook_deliveries, skip_locked=True)
        )
        rows = (await self._connection.execute(query)).all()
        if not rows:
            return []
        await self._connection.execute(
            update(orm.webhook_deliveries)
            .where(_D.id.in_([r.id for r in rows]))
            .values(attempts=_D.attempts + 1, next_attempt_at=lease_until)
        )
        claimed = []
        for row in rows:
            delivery = _delivery(row)
            claimed.append(
                DueDelivery(
                    Delivery(
                        **{
                            **{f: getattr(delivery, f) for f in Delivery.__dataclass_fields__},
                            "attempts": delivery.attempts + 1,
                            "next_attempt_at": lease_until,
                        }
                    ),
                    bytes(row.body),
                )
            )
        return claimed

    async def record(
        self,
        delivery_id: str,
        *,
        status: DeliveryStatus,
        response_status: int | None,
        next_attempt_at: datetime | None,
    ) -> None:
        await self._connection.execute(
            update(orm.webhook_deliveries)
            .where(_D.id == delivery_id)
            .values(
                status=status.value,
                last_response_status=response_status,
                next_attempt_at=next_attempt_at,
            )
        )

    async def get(self, delivery_id: str) -> Delivery | None:
        query = select(orm.webhook_deliveries).where(_D.id == delivery_id)
        row = (await self._connection.execute(query)).first()
        return _delivery(row) if row is not None else None

    async def list_for_endpoint(
        self,
        endpoint_id: str,
        *,
        status: DeliveryStatus | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> builtins.list[Delivery]:
        query = select(orm.webhook_deliveries).where(_D.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(_D.status == status.value)
        if after is not None:
            moment, last_id = after
            query = query.where(
                or_(_D.created_at < moment, and_(_D.created_at == moment, _D.id < last_id))
            )
        query = query.order_by(_D.created_at.desc(), _D.id.desc()).limit(limit)
        return [_delivery(r) for r in await self._connection.execute(query)]

    async def retry_now(self, delivery_id: str, now: datetime) -> None:
        await self._connection.execute(
            update(orm.webhook_deliveries)
            .where(_D.id == delivery_id)
            .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now)
        )

    async def stats(self, now: datetime) -> OutboundStats:
        delivered = func.sum(case((_D.status == DeliveryStatus.DELIVERED.value, 1), else_=0))
        failed = func.sum(case((_D.status == DeliveryStatus.FAILED.value, 1), else_=0))
        totals = (
            await self._connection.execute(
                select(func.coalesce(func.sum(_D.attempts), 0), delivered, failed)
            )
        ).one()
        oldest = (
            await self._connection.execute(
                select(func.min(_D.next_attempt_at)).where(
                    _D.status == DeliveryStatus.PENDING.value, _D.next_attempt_at <= now
                )
            )
        ).scalar()
        undispatched = (
            await self._connection.execute(
                select(func.min(_O.created_at)).where(_O.dispatched.is_(False))
            )
        ).scalar()
        due = [t for t in (oldest, undispatched) if t is not None]
        return OutboundStats(
            attempted=int(totals[0] or 0),
            delivered=int(totals[1] or 0),
            failed=int(totals[2] or 0),
            oldest_due_since=min(due) if due else None,
        )


class SqlAlchemyEventsOutUnitOfWork:
    """`async with uow:` one transaction over endpoints and deliveries; rolls back on exit
    unless committed. Shares the main unit of work's connection handling (SQLite's write
    lock, no nesting)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._inner = SqlAlchemyUnitOfWork(engine)
        self._endpoints: SqlAlchemyWebhookEndpointRepository | None = None
        self._deliveries: SqlAlchemyDeliveryRepository | None = None

    @property
    def endpoints(self) -> SqlAlchemyWebhookEndpointRepository:
        if self._endpoints is None:
            raise RuntimeError("use the unit of work inside `async with uow:`")
        return self._endpoints

    @property
    def deliveries(self) -> SqlAlchemyDeliveryRepository:
        if self._deliveries is None:
            raise RuntimeError("use the unit of work inside `async with uow:`")
        return self._deliveries

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        connection = self._inner.connection
        self._endpoints = SqlAlchemyWebhookEndpointRepository(connection)
        self._deliveries = SqlAlchemyDeliveryRepository(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._endpoints = self._deliveries = None
        await self._inner.__aexit__(exc_type, exc, traceback)

    async def commit(self) -> None:
        await self._inner.commit()
