"""A tenant reads its offerings."""

from __future__ import annotations

from application.errors import NotFound
from application.ports.catalogue import OfferingRepository
from application.uow import UnitOfWorkFactory
from domain.offering import Offering


class OfferingQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, tenant_id: str, offering_id: str) -> Offering:
        async with self._uow() as uow:
            return await get_offering(uow.offerings, tenant_id, offering_id)

    async def list(
        self,
        tenant_id: str,
        *,
        include_archived: bool,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        """The tenant's offerings by name, then id; a page of `limit` after (name, id)."""
        async with self._uow() as uow:
            return await uow.offerings.list(
                tenant_id, include_archived=include_archived, after=after, limit=limit
            )


async def get_offering(offerings: OfferingRepository, tenant_id: str, offering_id: str) -> Offering:
    """The tenant's offering; NotFound when it has no such offering."""
    offering = await offerings.get(tenant_id, offering_id)
    if offering is None:
        raise NotFound("offering", offering_id)
    return offering
