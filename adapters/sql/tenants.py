"""The tenants' repository: tenants, API keys, fee policies."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.codecs import (
    _tenant_from_row,
    _tenant_values,
    fee_policy_from_json,
    fee_policy_to_json,
)
from adapters.sql.statements import Statements, insert_once, utc_now
from application.errors import NotFound
from application.ports.repositories import AlreadyExists, ConcurrentUpdate
from domain.fees import FeePolicy
from domain.tenant import Tenant


class SqlAlchemyTenantRepository:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements

    async def add(self, tenant: Tenant) -> None:
        values = _tenant_values(tenant)
        if not await insert_once(self._connection, self._sql.insert_once["tenants"], values):
            raise AlreadyExists(f"a tenant with id {tenant.id!r} or slug {tenant.slug!r} exists")

    async def _one(self, statement: Select[Any], value: str) -> Tenant | None:
        result = await self._connection.execute(statement, {"t_value": value})
        row = result.first()
        return None if row is None else _tenant_from_row(row)

    async def get(self, tenant_id: str) -> Tenant | None:
        return await self._one(self._sql.tenant_by_id, tenant_id)

    async def get_by_slug(self, slug: str) -> Tenant | None:
        return await self._one(self._sql.tenant_by_slug, slug)

    async def lock_pricing(self, tenant_id: str) -> bool:
        # A row lock on PostgreSQL; SQLite has no FOR UPDATE and needs none, since every
        # transaction there begins with BEGIN IMMEDIATE and so runs alone.
        tenants = orm.tenants
        query = select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update()
        return (await self._connection.execute(query)).first() is not None

    async def find_by_account_id(self, account_id: str) -> Tenant | None:
        return await self._one(self._sql.tenant_by_account, account_id)

    async def update(self, tenant: Tenant) -> None:
        values = _tenant_values(tenant)
        del values["id"]
        # Never over a newer Connect snapshot stored meanwhile by another transaction.
        kept = orm.tenants.c.connect_as_of
        not_newer = (
            kept.is_(None)
            if tenant.connect_as_of is None
            else or_(kept.is_(None), kept <= tenant.connect_as_of)
        )
        statement = update(orm.tenants).where(orm.tenants.c.id == tenant.id, not_newer)
        result = await self._connection.execute(
            statement.values(**values).returning(orm.tenants.c.id)
        )
        if result.first() is None:
            if await self.get(tenant.id) is None:
                raise NotFound("tenant", tenant.id)
            raise ConcurrentUpdate(f"tenant {tenant.id} has a newer Connect snapshot")

    async def list(self, *, after: str | None = None, limit: int = 100) -> builtins.list[Tenant]:
        query = select(orm.tenants).order_by(orm.tenants.c.id).limit(limit)
        if after is not None:
            query = query.where(orm.tenants.c.id > after)
        result = await self._connection.execute(query)
        return [_tenant_from_row(row) for row in result]

    async def add_api_key(
        self, tenant_id: str, key_hash: str, *, label: str, created_at: datetime
    ) -> None:
        values = {
            "key_hash": key_hash,
            "tenant_id": tenant_id,
            "label": label,
            "created_at": created_at,
            "revoked_at": None,
        }
        if not await insert_once(
            self._connection, self._sql.insert_once["tenant_api_keys"], values
        ):
            raise AlreadyExists("an API key with this hash exists")

    async def find_by_api_key_hash(
        self, key_hash: str, *, now: datetime | None = None
    ) -> Tenant | None:
        result = await self._connection.execute(
            self._sql.tenant_by_api_key, {"t_key_hash": key_hash, "t_now": now or utc_now()}
        )
        row = result.first()
        return None if row is None else _tenant_from_row(row)

    async def revoke_other_api_keys(
        self, tenant_id: str, keep_hash: str, *, revoked_at: datetime
    ) -> int:
        keys = orm.tenant_api_keys
        result = await self._connection.execute(
            update(keys)
            .where(
                keys.c.tenant_id == tenant_id,
                keys.c.key_hash != keep_hash,
                or_(keys.c.revoked_at.is_(None), keys.c.revoked_at > revoked_at),
            )
            .values(revoked_at=revoked_at)
            .returning(keys.c.key_hash)
        )
        return len(result.all())

    async def add_fee_policy(self, tenant_id: str, policy: FeePolicy) -> None:
        values = {
            "tenant_id": tenant_id,
            "version": policy.version,
            "policy": fee_policy_to_json(policy),
        }
        if not await insert_once(self._connection, self._sql.insert_once["fee_policies"], values):
            raise AlreadyExists(f"fee policy version {policy.version} of tenant {tenant_id}")

    async def active_fee_policy(self, tenant_id: str) -> FeePolicy | None:
        policies = orm.fee_policies
        query = (
            select(policies.c.policy)
            .where(policies.c.tenant_id == tenant_id)
            .order_by(policies.c.version.desc())
            .limit(1)
        )
        data = (await self._connection.execute(query)).scalar_one_or_none()
        return None if data is None else fee_policy_from_json(data, tenant_id)
