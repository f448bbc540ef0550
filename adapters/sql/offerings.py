"""The offerings' repository, with each offering's current fee override."""

from __future__ import annotations

from typing import Any

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
from adapters.sql.statements import (
    _insert_once,
)
from application.errors import NotFound
from application.ports.repositories import AlreadyExists
from domain.fees import (
    FeePolicy,
    FeePolicyScope,
)
from domain.offering import Offering

TENANT = FeePolicyScope.TENANT


def _override_of(offerings: Any) -> Any:
    """The offering's current override (NULL when it has none, or it was ended)."""
    overrides = orm.offering_fee_policies
    return (
        select(overrides.c.policy)
        .where(
            overrides.c.tenant_id == offerings.c.tenant_id,
            overrides.c.offering_id == offerings.c.id,
        )
        .order_by(overrides.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )


# An offering's row with its current override as `fee_policy`.
_OFFERING_ROWS = select(orm.offerings, _override_of(orm.offerings).label("fee_policy"))


class SqlAlchemyOfferingRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, offering: Offering) -> None:
        if not await _insert_once(self._connection, orm.offerings, _offering_values(offering)):
            raise AlreadyExists(f"offering {offering.id} exists")

    async def get(self, tenant_id: str, offering_id: str) -> Offering | None:
        query = _OFFERING_ROWS.where(
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
        query = _OFFERING_ROWS.where(table.c.tenant_id == tenant_id)
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
        if not await _insert_once(self._connection, orm.offering_fee_policies, values):
            raise AlreadyExists(f"fee policy version {version} of offering {offering_id}")
