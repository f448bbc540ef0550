"""Webhook endpoints (application/ports/events_out.py), and the unit of work the endpoint
routes and the relay use (with the deliveries of adapters/sql/webhook_deliveries.py)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.events_out_tables import webhook_deliveries, webhook_endpoints
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from adapters.sql.webhook_deliveries import SqlAlchemyDeliveryRepository
from domain.events import EndpointStatus, EventType, WebhookEndpoint

_E = webhook_endpoints.c
_D = webhook_deliveries.c


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

    async def add(self, endpoint: WebhookEndpoint, *, max_per_owner: int | None = None) -> bool:
        if max_per_owner is not None:
            if self._connection.dialect.name == "postgresql":
                # Registrations of one owner take turns until their transactions end (on
                # SQLite every transaction holds the write lock already).
                owner = "webhook_endpoints:" + (endpoint.owner_tenant_id or "")
                await self._connection.execute(
                    select(func.pg_advisory_xact_lock(func.hashtextextended(owner, 0)))
                )
            owned = (
                select(func.count())
                .select_from(webhook_endpoints)
                .where(_owner_is(endpoint.owner_tenant_id))
            )
            if (await self._connection.execute(owned)).scalar_one() >= max_per_owner:
                return False
        await self._connection.execute(insert(webhook_endpoints), _endpoint_values(endpoint))
        return True

    async def get(self, endpoint_id: str, owner_tenant_id: str | None) -> WebhookEndpoint | None:
        query = select(webhook_endpoints).where(_E.id == endpoint_id, _owner_is(owner_tenant_id))
        row = (await self._connection.execute(query)).first()
        return _endpoint(row) if row is not None else None

    async def get_any(self, endpoint_ids: Sequence[str]) -> builtins.list[WebhookEndpoint]:
        if not endpoint_ids:
            return []
        query = select(webhook_endpoints).where(_E.id.in_(list(endpoint_ids)))
        return [_endpoint(r) for r in await self._connection.execute(query)]

    async def list(
        self, owner_tenant_id: str | None, *, after: str | None, limit: int
    ) -> builtins.list[WebhookEndpoint]:
        query = select(webhook_endpoints).where(_owner_is(owner_tenant_id))
        if after is not None:
            query = query.where(_E.id > after)
        query = query.order_by(_E.id).limit(limit)
        return [_endpoint(r) for r in await self._connection.execute(query)]

    async def enabled(self) -> builtins.list[WebhookEndpoint]:
        query = select(webhook_endpoints).where(_E.status == EndpointStatus.ENABLED.value)
        return [_endpoint(r) for r in await self._connection.execute(query)]

    async def update(self, endpoint: WebhookEndpoint) -> None:
        values = _endpoint_values(endpoint)
        del values["id"], values["created_at"], values["owner_tenant_id"]
        await self._connection.execute(
            update(webhook_endpoints).where(_E.id == endpoint.id).values(**values)
        )

    async def delete(self, endpoint_id: str, owner_tenant_id: str | None) -> bool:
        owned = select(_E.id).where(_E.id == endpoint_id, _owner_is(owner_tenant_id))
        if (await self._connection.execute(owned)).first() is None:
            return False
        # SQLite enforces no foreign keys by default: the deliveries go explicitly.
        await self._connection.execute(
            delete(webhook_deliveries).where(_D.endpoint_id == endpoint_id)
        )
        await self._connection.execute(delete(webhook_endpoints).where(_E.id == endpoint_id))
        return True


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
