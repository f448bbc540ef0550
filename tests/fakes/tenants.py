"""In-memory tenants and offerings."""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import UTC, datetime

from application.errors import NotFound
from application.ports.repositories import AlreadyExists, ConcurrentUpdate
from domain.fees import FeePolicy
from domain.offering import Offering
from domain.tenant import Tenant
from tests.fakes.tables import ApiKey, Tables


class InMemoryTenantRepository:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, tenant: Tenant) -> None:
        if tenant.id in self._t.tenants or await self.get_by_slug(tenant.slug) is not None:
            raise AlreadyExists(f"a tenant with id {tenant.id!r} or slug {tenant.slug!r} exists")
        self._t.tenants[tenant.id] = tenant

    async def get(self, tenant_id: str) -> Tenant | None:
        return self._t.tenants.get(tenant_id)

    async def get_by_slug(self, slug: str) -> Tenant | None:
        return next((t for t in self._t.tenants.values() if t.slug == slug), None)

    async def lock_pricing(self, tenant_id: str) -> bool:
        # Units of work on this database run one at a time: the lock is already held.
        return tenant_id in self._t.tenants

    async def update(self, tenant: Tenant) -> None:
        stored = self._t.tenants.get(tenant.id)
        if stored is None:
            raise NotFound("tenant", tenant.id)
        kept = stored.connect_as_of
        if kept is not None and (tenant.connect_as_of is None or kept > tenant.connect_as_of):
            raise ConcurrentUpdate(f"tenant {tenant.id} has a newer Connect snapshot")
        self._t.tenants[tenant.id] = tenant

    async def list(self, *, after: str | None = None, limit: int = 100) -> builtins.list[Tenant]:
        ids = sorted(i for i in self._t.tenants if after is None or i > after)
        return [self._t.tenants[i] for i in ids[:limit]]

    async def find_by_account_id(self, account_id: str) -> Tenant | None:
        return next(
            (t for t in self._t.tenants.values() if t.connect.account_id == account_id), None
        )

    async def add_api_key(
        self, tenant_id: str, key_hash: str, *, label: str, created_at: datetime
    ) -> None:
        if key_hash in self._t.api_keys:
            raise AlreadyExists("an API key with this hash exists")
        if tenant_id not in self._t.tenants:
            raise NotFound("tenant", tenant_id)
        self._t.api_keys[key_hash] = ApiKey(tenant_id, label, created_at)

    async def find_by_api_key_hash(
        self, key_hash: str, *, now: datetime | None = None
    ) -> Tenant | None:
        key = self._t.api_keys.get(key_hash)
        moment = now or datetime.now(UTC)
        if key is None or (key.revoked_at is not None and key.revoked_at <= moment):
            return None
        return self._t.tenants.get(key.tenant_id)

    async def revoke_other_api_keys(
        self, tenant_id: str, keep_hash: str, *, revoked_at: datetime
    ) -> int:
        shortened = 0
        for key_hash, key in list(self._t.api_keys.items()):
            if key.tenant_id != tenant_id or key_hash == keep_hash:
                continue
            if key.revoked_at is None or key.revoked_at > revoked_at:
                self._t.api_keys[key_hash] = replace(key, revoked_at=revoked_at)
                shortened += 1
        return shortened

    async def add_fee_policy(self, tenant_id: str, policy: FeePolicy) -> None:
        if (tenant_id, policy.version) in self._t.fee_policies:
            raise AlreadyExists(f"fee policy version {policy.version} of tenant {tenant_id}")
        if tenant_id not in self._t.tenants:
            raise NotFound("tenant", tenant_id)
        self._t.fee_policies[tenant_id, policy.version] = policy

    async def active_fee_policy(self, tenant_id: str) -> FeePolicy | None:
        return self._t.tenant_policy(tenant_id)


class InMemoryOfferingRepository:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, offering: Offering) -> None:
        key = (offering.tenant_id, offering.id)
        if key in self._t.offerings:
            raise AlreadyExists(f"offering {offering.id} exists")
        if offering.tenant_id not in self._t.tenants:
            raise NotFound("tenant", offering.tenant_id)
        self._t.offerings[key] = replace(offering, fee_policy=None)

    async def get(self, tenant_id: str, offering_id: str) -> Offering | None:
        return self._t.with_override(self._t.offerings.get((tenant_id, offering_id)))

    async def update(self, offering: Offering) -> None:
        key = (offering.tenant_id, offering.id)
        if key not in self._t.offerings:
            raise NotFound("offering", offering.id)
        self._t.offerings[key] = replace(offering, fee_policy=None)

    async def list(
        self,
        tenant_id: str,
        *,
        include_archived: bool = False,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        found = [
            o
            for (t, _), o in self._t.offerings.items()
            if t == tenant_id
            and (include_archived or not o.archived)
            and (after is None or (o.name, o.id) > after)
        ]
        ordered = sorted(found, key=lambda o: (o.name, o.id))[:limit]
        listed = [self._t.with_override(o) for o in ordered]
        return [o for o in listed if o is not None]

    async def last_fee_policy_override_version(self, tenant_id: str, offering_id: str) -> int:
        versions = [
            v for (t, o, v) in self._t.fee_policy_overrides if (t, o) == (tenant_id, offering_id)
        ]
        return max(versions, default=0)

    async def add_fee_policy_override(
        self, tenant_id: str, offering_id: str, version: int, policy: FeePolicy | None
    ) -> None:
        if (tenant_id, offering_id) not in self._t.offerings:
            raise NotFound("offering", offering_id)
        if (tenant_id, offering_id, version) in self._t.fee_policy_overrides:
            raise AlreadyExists(f"fee policy version {version} of offering {offering_id}")
        self._t.fee_policy_overrides[tenant_id, offering_id, version] = policy
