"""What customers see of a tenant's offerings and slots, and the tenant's slot by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.errors import NotFound
from application.ports.catalogue import SlotRepository
from application.ports.time_and_identity import Clock
from application.uow import UnitOfWorkFactory
from domain.offering import Offering, Slot


@dataclass(frozen=True, slots=True)
class Availability:
    offering: Offering
    slots: list[Slot]


class ListAvailability:
    """The public view: an active offering of a tenant (by slug) and its future slots."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(
        self,
        tenant_slug: str,
        offering_id: str,
        *,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> Availability:
        """Future slots by start, then id; a page of `limit` after (starts_at, id)."""
        now = self._clock.now()
        # Customers browse far more than they pay: this unit of work only reads.
        async with self._uow().read_only() as uow:
            tenant = await uow.tenants.get_by_slug(tenant_slug)
            if tenant is None:
                raise NotFound("tenant", tenant_slug)
            offering = await uow.offerings.get(tenant.id, offering_id)
            if offering is None or offering.archived:
                raise NotFound("offering", offering_id)
            slots = await uow.slots.list_for_offering(
                tenant.id,
                offering_id,
                starts_from=max(starts_from, now) if starts_from else now,
                starts_before=starts_before,
                after=after,
                limit=limit,
            )
        return Availability(offering, slots)


class ListPublicOfferings:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        tenant_slug: str,
        *,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        """The tenant's active offerings by name, then id; a page of `limit` after (name, id)."""
        async with self._uow().read_only() as uow:
            tenant = await uow.tenants.get_by_slug(tenant_slug)
            if tenant is None:
                raise NotFound("tenant", tenant_slug)
            return await uow.offerings.list(tenant.id, after=after, limit=limit)


async def get_slot(slots: SlotRepository, tenant_id: str, slot_id: str) -> Slot:
    """The tenant's slot; NotFound when it has no such slot."""
    slot = await slots.get(tenant_id, slot_id)
    if slot is None:
        raise NotFound("slot", slot_id)
    return slot
