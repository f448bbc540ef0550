"""Deliveries of events out (application/ports/events_out.py): fanning the outbox out to
endpoints, claiming due deliveries fairly, recording outcomes, the delivery log, and purging
what is finished."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.events_out_tables import outbox_events, webhook_deliveries, webhook_endpoints
from application.ports.events_out import (
    Delivery,
    DueDelivery,
    NewDelivery,
    OutboundMessage,
    OutboundStats,
)
from domain.events import DeliveryStatus, EndpointStatus, EventType, InFlightCaps

_E = webhook_endpoints.c
_O = outbox_events.c
_D = webhook_deliveries.c


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


def _not_disabled() -> Any:
    """The endpoint is enabled, or gone (its deliveries are then failed by the relay): a
    disabled endpoint's deliveries wait, pending, until it is enabled again."""
    return or_(_E.id.is_(None), _E.status != EndpointStatus.DISABLED.value)


def _fair_due(now: datetime, limit: int, caps: InFlightCaps) -> Any:
    """The ids of the due deliveries to claim, as one subquery (domain/events.py
    `InFlightCaps`), a disabled endpoint's left waiting: per endpoint its oldest due up to
    the room its cap leaves, then per
    owner (the endpoint's tenant, or '' for the platform's and for a deleted endpoint's)
    the oldest of those up to its
    room, then owners in turn (every owner's first, then every owner's second, ...)."""
    pending = _D.status == DeliveryStatus.PENDING.value
    owner = func.coalesce(_E.owner_tenant_id, literal(""))
    in_flight = and_(pending, _D.leased_until > now)
    endpoint_busy = (
        select(_D.endpoint_id.label("endpoint_id"), func.count().label("busy"))
        .where(in_flight)
        .group_by(_D.endpoint_id)
        .subquery()
    )
    owner_busy = (
        select(owner.label("owner"), func.count().label("busy"))
        .select_from(webhook_deliveries.outerjoin(webhook_endpoints, _E.id == _D.endpoint_id))
        .where(in_flight)
        .group_by(owner)
        .subquery()
    )
    by_endpoint = (
        select(
            _D.id.label("id"),
            _D.next_attempt_at.label("due_at"),
            owner.label("owner"),
            (
                func.row_number().over(
                    partition_by=_D.endpoint_id, order_by=(_D.next_attempt_at, _D.id)
                )
                + func.coalesce(endpoint_busy.c.busy, 0)
            ).label("endpoint_rank"),
        )
        .select_from(
            webhook_deliveries.outerjoin(webhook_endpoints, _E.id == _D.endpoint_id).outerjoin(
                endpoint_busy, endpoint_busy.c.endpoint_id == _D.endpoint_id
            )
        )
        .where(pending, _D.next_attempt_at <= now, _not_disabled())
        .subquery()
    )
    by_owner = (
        select(
            by_endpoint.c.id,
            by_endpoint.c.due_at,
            (
                func.row_number().over(
                    partition_by=by_endpoint.c.owner,
                    order_by=(by_endpoint.c.due_at, by_endpoint.c.id),
                )
                + func.coalesce(owner_busy.c.busy, 0)
            ).label("owner_rank"),
        )
        .select_from(by_endpoint.outerjoin(owner_busy, owner_busy.c.owner == by_endpoint.c.owner))
        .where(by_endpoint.c.endpoint_rank <= caps.per_endpoint)
        .subquery()
    )
    return (
        select(by_owner.c.id)
        .where(by_owner.c.owner_rank <= caps.per_owner)
        .order_by(by_owner.c.owner_rank, by_owner.c.due_at, by_owner.c.id)
        .limit(limit)
        .subquery()
    )


class SqlAlchemyDeliveryRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim_undispatched(self, limit: int) -> builtins.list[OutboundMessage]:
        query = (
            select(outbox_events)
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
                insert(webhook_deliveries),
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
                update(outbox_events).where(_O.id.in_(list(event_ids))).values(dispatched=True)
            )

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, caps: InFlightCaps
    ) -> builtins.list[DueDelivery]:
        chosen = _fair_due(now, limit, caps)
        query = (
            select(webhook_deliveries, _O.body)
            .join(
                outbox_events,
                and_(_O.tenant_id == _D.tenant_id, _O.id == _D.event_id),
            )
            .where(
                _D.id.in_(select(chosen.c.id)),
                _D.status == DeliveryStatus.PENDING.value,
                _D.next_attempt_at <= now,
            )
            .with_for_update(of=webhook_deliveries, skip_locked=True)
        )
        rows = (await self._connection.execute(query)).all()
        if not rows:
            return []
        await self._connection.execute(
            update(webhook_deliveries)
            .where(_D.id.in_([r.id for r in rows]))
            .values(attempts=_D.attempts + 1, next_attempt_at=lease_until, leased_until=lease_until)
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
        attempt: int,
        status: DeliveryStatus,
        response_status: int | None,
        next_attempt_at: datetime | None,
    ) -> bool:
        # Fenced by the try it claimed: a relay that outlived its lease finds another try
        # (or an outcome) in place and changes nothing.
        result = await self._connection.execute(
            update(webhook_deliveries)
            .where(
                _D.id == delivery_id,
                _D.attempts == attempt,
                _D.status == DeliveryStatus.PENDING.value,
            )
            .values(
                status=status.value,
                last_response_status=response_status,
                next_attempt_at=next_attempt_at,
                leased_until=None,
            )
        )
        return bool(result.rowcount)

    async def purge(self, finished_before: datetime, limit: int) -> int:
        disabled = select(_E.id).where(
            _E.id == _D.endpoint_id, _E.status == EndpointStatus.DISABLED.value
        )
        finished = (
            select(_D.id)
            .where(
                or_(
                    _D.status.in_([DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value]),
                    disabled.exists(),  # waiting for an endpoint left disabled this long
                ),
                _D.created_at < finished_before,
            )
            .limit(limit)
        )
        deleted = (
            await self._connection.execute(
                delete(webhook_deliveries).where(_D.id.in_(finished.scalar_subquery()))
            )
        ).rowcount
        needed = select(_D.id).where(_D.tenant_id == _O.tenant_id, _D.event_id == _O.id)
        spent = (
            select(_O.id)
            .where(
                _O.dispatched.is_(True),
                _O.created_at < finished_before,
                ~needed.exists(),
            )
            .limit(limit)
        )
        deleted += (
            await self._connection.execute(
                delete(outbox_events).where(
                    _O.id.in_(spent.scalar_subquery()), _O.created_at < finished_before
                )
            )
        ).rowcount
        return int(deleted)

    async def get(self, delivery_id: str) -> Delivery | None:
        query = select(webhook_deliveries).where(_D.id == delivery_id)
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
        query = select(webhook_deliveries).where(_D.endpoint_id == endpoint_id)
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
            update(webhook_deliveries)
            .where(_D.id == delivery_id)
            .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now, leased_until=None)
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
                select(func.min(_D.next_attempt_at))
                .select_from(
                    webhook_deliveries.outerjoin(webhook_endpoints, _E.id == _D.endpoint_id)
                )
                .where(
                    _D.status == DeliveryStatus.PENDING.value,
                    _D.next_attempt_at <= now,
                    _not_disabled(),
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
