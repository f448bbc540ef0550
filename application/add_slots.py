"""A tenant opens slots of an offering: each start once, all of them in the future."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from application.errors import InvalidRequest, NotFound
from application.ports.time_and_identity import Clock, IdGenerator
from application.uow import UnitOfWorkFactory
from domain.errors import SlotStartTaken
from domain.offering import Slot, require_slot_count


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
        """The new slots. SlotStartTaken when a start repeats in the request or the offering
        already has a slot then (one slot per start time per offering)."""
        require_slot_count(len(command.slots))
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
            starts = Counter(slot.starts_at for slot in slots)
            repeated = {start for start, count in starts.items() if count > 1}
            taken = repeated or await uow.slots.taken_starts(
                offering.tenant_id, offering.id, starts
            )
            if taken:
                raise SlotStartTaken(offering.id, min(taken).isoformat())
            for slot in slots:
                await uow.slots.add(slot)
            await uow.commit()
        return slots
