"""Webhook endpoints, the platform's and each tenant's: register (the secret is shown
once), read, change, delete, rotate the secret, read the delivery log, retry a delivery.

Every call names its owner: `owner_tenant_id` None for the platform (admin), a tenant's
id for that tenant. An owner never sees another owner's endpoints: another's id is
NotFound. A tenant's endpoint is bound to the tenant (it receives only its events); the
platform's hears every tenant, or the one in `tenant_id`.
"""

from __future__ import annotations

import base64
import builtins
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from application.errors import NotFound, TooManyEndpoints
from application.ports.events_out import Delivery, EventsOutUnitOfWork
from application.ports.time_and_identity import Clock, IdGenerator
from application.uow import UnitOfWorkFactory
from domain.events import (
    MAX_ENDPOINTS_PER_OWNER,
    DeliveryStatus,
    EndpointStatus,
    WebhookEndpoint,
    endpoint_url,
    event_types,
)

EventsOutUnitOfWorkFactory = Callable[[], EventsOutUnitOfWork]


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    owner_tenant_id: str | None
    url: str
    events: Sequence[str] = ()
    # The platform's endpoint for one tenant; ignored for a tenant's own (it is the owner).
    tenant_id: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    url: str | None = None
    events: Sequence[str] | None = None
    status: EndpointStatus | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointWithSecret:
    """An endpoint with its new secret, shown only in this answer."""

    endpoint: WebhookEndpoint
    secret: str


class ManageWebhookEndpoints:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        events_uow: EventsOutUnitOfWorkFactory,
        ids: IdGenerator,
        clock: Clock,
        *,
        allow_private: bool = False,
        max_endpoints_per_owner: int = MAX_ENDPOINTS_PER_OWNER,
    ) -> None:
        """`max_endpoints_per_owner`: how many endpoints one owner (a tenant, or the
        platform) may have at once."""
        self._uow = uow
        self._events_uow = events_uow
        self._ids = ids
        self._clock = clock
        self._allow_private = allow_private
        self._max_endpoints = max_endpoints_per_owner

    async def register(self, new: NewEndpoint) -> EndpointWithSecret:
        """Raises InvalidEndpoint (URL, event types), NotFound (the tenant named),
        TooManyEndpoints (the owner has `max_endpoints_per_owner` already)."""
        tenant_id = new.owner_tenant_id or new.tenant_id
        if tenant_id is not None and new.owner_tenant_id is None:
            async with self._uow() as uow:
                if await uow.tenants.get(tenant_id) is None:
                    raise NotFound("tenant", tenant_id)
        secret = new_secret()
        endpoint = WebhookEndpoint(
            id=self._ids.new_id("we"),
            url=endpoint_url(new.url, allow_private=self._allow_private),
            tenant_id=tenant_id,
            owner_tenant_id=new.owner_tenant_id,
            events=event_types(new.events),
            status=EndpointStatus.ENABLED,
            secret=secret,
            created_at=self._clock.now(),
            description=new.description,
        )
        async with self._events_uow() as uow:
            if not await uow.endpoints.add(endpoint, max_per_owner=self._max_endpoints):
                raise TooManyEndpoints(self._max_endpoints)
            await uow.commit()
        return EndpointWithSecret(endpoint, secret)

    async def get(self, owner_tenant_id: str | None, endpoint_id: str) -> WebhookEndpoint:
        async with self._events_uow() as uow:
            return await _owned(uow, owner_tenant_id, endpoint_id)

    async def list(
        self, owner_tenant_id: str | None, *, after: str | None, limit: int
    ) -> builtins.list[WebhookEndpoint]:
        async with self._events_uow() as uow:
            return await uow.endpoints.list(owner_tenant_id, after=after, limit=limit)

    async def change(
        self, owner_tenant_id: str | None, endpoint_id: str, changes: EndpointChanges
    ) -> WebhookEndpoint:
        """Raises NotFound, InvalidEndpoint. Enabling again ends a failing streak."""
        async with self._events_uow() as uow:
            endpoint = await _owned(uow, owner_tenant_id, endpoint_id)
            changed = replace(
                endpoint,
                url=endpoint.url
                if changes.url is None
                else endpoint_url(changes.url, allow_private=self._allow_private),
                events=endpoint.events if changes.events is None else event_types(changes.events),
                description=endpoint.description
                if changes.description is None
                else changes.description,
            )
            if changes.status is not None and changes.status is not endpoint.status:
                changed = replace(changed, status=changes.status, failing_since=None)
            await uow.endpoints.update(changed)
            await uow.commit()
            return changed

    async def delete(self, owner_tenant_id: str | None, endpoint_id: str) -> None:
        async with self._events_uow() as uow:
            if not await uow.endpoints.delete(endpoint_id, owner_tenant_id):
                raise NotFound("webhook endpoint", endpoint_id)
            await uow.commit()

    async def rotate_secret(
        self, owner_tenant_id: str | None, endpoint_id: str
    ) -> EndpointWithSecret:
        """A new secret; the old one keeps signing alongside for ROTATION_OVERLAP."""
        secret = new_secret()
        async with self._events_uow() as uow:
            endpoint = await _owned(uow, owner_tenant_id, endpoint_id)
            rotated = endpoint.rotated(secret, self._clock.now())
            await uow.endpoints.update(rotated)
            await uow.commit()
        return EndpointWithSecret(rotated, secret)

    async def deliveries(
        self,
        owner_tenant_id: str | None,
        endpoint_id: str,
        *,
        status: DeliveryStatus | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> builtins.list[Delivery]:
        async with self._events_uow() as uow:
            await _owned(uow, owner_tenant_id, endpoint_id)
            return await uow.deliveries.list_for_endpoint(
                endpoint_id, status=status, after=after, limit=limit
            )

    async def retry(self, delivery_id: str) -> Delivery:
        """The platform's: deliver again now, whatever its status or endpoint (the relay's
        next pass sends it). Raises NotFound."""
        async with self._events_uow() as uow:
            delivery = await uow.deliveries.get(delivery_id)
            if delivery is None:
                raise NotFound("webhook delivery", delivery_id)
            await uow.deliveries.retry_now(delivery_id, self._clock.now())
            await uow.commit()
            retried = await uow.deliveries.get(delivery_id)
        assert retried is not None
        return retried


async def _owned(
    uow: EventsOutUnitOfWork, owner_tenant_id: str | None, endpoint_id: str
) -> WebhookEndpoint:
    endpoint = await uow.endpoints.get(endpoint_id, owner_tenant_id)
    if endpoint is None:
        raise NotFound("webhook endpoint", endpoint_id)
    return endpoint
