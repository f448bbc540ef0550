"""A tenant gets a new API key (shown once; only its hash is stored)."""

from __future__ import annotations

from dataclasses import dataclass

from application.credentials import hash_secret, new_api_key
from application.errors import NotFound
from application.ports.time_and_identity import Clock
from application.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    tenant_id: str
    api_key: str  # the only time it is seen in clear


class IssueTenantApiKey:
    """Adds a key to the tenant's keys; the keys it already has keep working.

    `by_slug(slug, label)` → IssuedApiKey; NotFound when no tenant has that slug.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def by_slug(self, tenant_slug: str, *, label: str) -> IssuedApiKey:
        api_key = new_api_key()
        async with self._uow() as uow:
            tenant = await uow.tenants.get_by_slug(tenant_slug)
            if tenant is None:
                raise NotFound("tenant", tenant_slug)
            await uow.tenants.add_api_key(
                tenant.id, hash_secret(api_key), label=label, created_at=self._clock.now()
            )
            await uow.commit()
        return IssuedApiKey(tenant_id=tenant.id, api_key=api_key)
