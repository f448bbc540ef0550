"""A tenant opens slots for an offering; customers see how many seats are left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.errors import InvalidRequest, NotFound
from application.ports import Clock, IdGenerator
from application.uow import UnitOfWorkFactory
from domain.offering import Offering, Slot

MAX_SLOTS_PER_REQUEST = 500


@dataclass(frozen=True, slots=True)
class SlotSpec:
    starts_at: datetime
    capacity: int | None = None


@dataclass(frozen=True, slots=True)
class NewSlots:
    tenant_id: str
    offering_id: str
    slots: tuple[SlotSpec, ...]


class AddSlots:
    def __init__(self, uow: UnitOfWorkFactory, ids: IdGenerator, clock: Clock) -> None:
        self._uow = uow
        self._ids = ids
        self._clock = clock

    async def __call__(self, command: NewSlots) -> list[Slot]:
        if not 1 <= len(command.slots) <= MAX_SLOTS_PER_REQUEST:
            raise InvalidRequest(f"give between 1 and {MAX_SLOTS_PER_REQUEST} slots")
        now = self._clock.now()
        async with self._uow() as uow:
            offering = await uow.offerings.get(command.tenant_id, command.offering_id)
            if offering is None:
                raise NotFound("offering", command.offering_id)
            slots = [
                offering.new_slot(self._ids.new_id("sl"), spec.starts_at, spec.capacity)
                for spec in command.slots
            ]
            if any(slot.starts_at <= now for slot in slots):
                raise InvalidRequest("slots must start in the future")
            for slot in slots:
                await uow.slots.add(slot)
            await uow.commit()
        return slots


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
        async with self._uow() as uow:
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
        async with self._uow() as uow:
            tenant = await uow.tenants.get_by_slug(tenant_slug)
            if tenant is None:
                raise NotFound("tenant", tenant_slug)
            return await uow.offerings.list(tenant.id, after=after, limit=limit)
