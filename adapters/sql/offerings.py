"""The offerings' repository, with each offering's current fee override."""

from __future__ import annotations

from sqlalchemy import (
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.codecs import (
    _offering_from_row,
    _offering_values,
    fee_policy_to_json,
)
from adapters.sql.statements import Statements, insert_once
from application.errors import NotFound
from application.ports.repositories import AlreadyExists
from domain.fees import FeePolicy
from domain.offering import Offering


class SqlAlchemyOfferingRepository:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements

    async def add(self, offering: Offering) -> None:
        values = _offering_values(offering)
        if not await insert_once(self._connection, self._sql.insert_once["offerings"], values):
            raise AlreadyExists(f"offering {offering.id} exists")

    async def get(self, tenant_id: str, offering_id: str) -> Offering | None:
        query = self._sql.offering_rows.where(
            orm.offerings.c.tenant_id == tenant_id, orm.offerings.c.id == offering_id
        )
        row = (await self._connection.execute(query)).first()
        return None if row is None else _offering_from_row(row)

    async def update(self, offering: Offering) -> None:
        values = _offering_values(offering)
        del values["tenant_id"], values["id"]
        table = orm.offerings
        result = await self._connection.execute(
            update(table)
            .where(table.c.tenant_id == offering.tenant_id, table.c.id == offering.id)
            .values(**values)
            .returning(table.c.id)
        )
        if result.first() is None:
            raise NotFound("offering", offering.id)

    async def list(
        self,
        tenant_id: str,
        *,
        include_archived: bool = False,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        table = orm.offerings
        query = self._sql.offering_rows.where(table.c.tenant_id == tenant_id)
        if not include_archived:
            query = query.where(table.c.archived.is_(False))
        if after is not None:
            name, ident = after
            query = query.where(
                or_(table.c.name > name, and_(table.c.name == name, table.c.id > ident))
            )
        query = query.order_by(table.c.name, table.c.id)
        if limit is not None:
            query = query.limit(limit)
        result = await self._connection.execute(query)
        return [_offering_from_row(row) for row in result]

    async def last_fee_policy_override_version(self, tenant_id: str, offering_id: str) -> int:
        overrides = orm.offering_fee_policies
        query = select(func.max(overrides.c.version)).where(
            overrides.c.tenant_id == tenant_id, overrides.c.offering_id == offering_id
        )
        version = (await self._connection.execute(query)).scalar_one_or_none()
        return int(version or 0)

    async def add_fee_policy_override(
        self, tenant_id: str, offering_id: str, version: int, policy: FeePolicy | None
    ) -> None:
        values = {
            "tenant_id": tenant_id,
            "offering_id": offering_id,
            "version": version,
            "policy": None if policy is None else fee_policy_to_json(policy),
        }
        statement = self._sql.insert_once["offering_fee_policies"]
        if not await insert_once(self._connection, statement, values):
            raise AlreadyExists(f"fee policy version {version} of offering {offering_id}")
