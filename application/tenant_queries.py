"""Read tenants: by API key (authentication), by id, and the platform's list."""

from __future__ import annotations

from dataclasses import dataclass

from application.credentials import hash_secret
from application.errors import NotFound, Unauthorized
from application.ports.time_and_identity import Clock
from application.uow import UnitOfWorkFactory
from domain.fees import FeePolicy
from domain.tenant import Tenant


@dataclass(frozen=True, slots=True)
class TenantView:
    tenant: Tenant
    fee_policy: FeePolicy | None


class TenantQueries:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock | None = None) -> None:
        self._uow = uow
        self._clock = clock

    async def authenticate(self, api_key: str) -> Tenant:
        """The tenant owning a live API key; Unauthorized for any other key."""
        now = self._clock.now() if self._clock else None
        async with self._uow() as uow:
            tenant = await uow.tenants.find_by_api_key_hash(hash_secret(api_key), now=now)
        if tenant is None:
            raise Unauthorized("the API key is not valid")
        return tenant

    async def get(self, tenant_id: str) -> TenantView:
        async with self._uow() as uow:
            tenant = await uow.tenants.get(tenant_id)
            if tenant is None:
                raise NotFound("tenant", tenant_id)
            return TenantView(tenant, await uow.tenants.active_fee_policy(tenant_id))

    async def list(self, *, after: str | None, limit: int) -> list[TenantView]:
        async with self._uow() as uow:
            tenants = await uow.tenants.list(after=after, limit=limit)
            return [
                TenantView(tenant, await uow.tenants.active_fee_policy(tenant.id))
                for tenant in tenants
            ]
