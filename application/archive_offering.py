"""A tenant stops selling an offering."""

from __future__ import annotations

from application.offering_queries import get_offering
from application.uow import UnitOfWorkFactory
from domain.offering import Offering


class ArchiveOffering:
    """Archived offerings are no longer sold; bookings already made stay as they are."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, tenant_id: str, offering_id: str) -> Offering:
        async with self._uow() as uow:
            offering = await get_offering(uow.offerings, tenant_id, offering_id)
            archived = offering.archive()
            if archived != offering:
                await uow.offerings.update(archived)
                await uow.commit()
        return archived
