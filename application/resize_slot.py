"""A tenant changes a slot's capacity."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports.time_and_identity import Clock
from application.slot_queries import get_slot
from application.uow import UnitOfWorkFactory
from domain.errors import CapacityBelowSeatsTaken
from domain.offering import Slot


@dataclass(frozen=True, slots=True)
class SlotResize:
    tenant_id: str
    slot_id: str
    capacity: int


class ResizeSlot:
    """Change a slot's capacity, never below the seats held and booked on it.

    The domain decides on the slot as read; one conditional statement then applies it only
    while the seats taken still fit, so a hold taken meanwhile cannot be squeezed out.
    Raises NotFound, SlotCancelled, SlotAlreadyStarted, CapacityBelowSeatsTaken,
    InvalidOffering (a capacity out of range).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: SlotResize) -> Slot:
        async with self._uow() as uow:
            slot = await get_slot(uow.slots, command.tenant_id, command.slot_id)
            slot.ensure_resizable_at(self._clock.now())
            slot.resize(command.capacity)
            if not await uow.slots.resize(slot.tenant_id, slot.id, command.capacity):
                # Seats were taken between the read and the write: decide on them now.
                current = await get_slot(uow.slots, command.tenant_id, command.slot_id)
                raise CapacityBelowSeatsTaken(slot.id, command.capacity, current.seats_taken)
            await uow.commit()
            return await get_slot(uow.slots, command.tenant_id, command.slot_id)
