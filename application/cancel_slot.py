"""A tenant cancels a slot: no more sales, and every booking on it ends."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from application.cancel_booking import CancelBooking, CancelCommand
from application.errors import ApplicationError
from application.ports.time_and_identity import Clock
from application.slot_queries import get_slot
from application.uow import UnitOfWorkFactory
from domain.booking import CancelledBy, SeatState
from domain.errors import DomainError
from domain.events import slot_events
from domain.offering import Slot

log = logging.getLogger("bookpay.slots")

# Passes over a cancelled slot's open bookings in one go; reconciliation does the rest.
PASSES = 2


@dataclass(frozen=True, slots=True)
class SlotCancellation:
    tenant_id: str
    slot_id: str
    reason: str | None = None


@dataclass
class SlotCancelled:
    """The slot, cancelled; the bookings ended now, and those left for reconciliation (a
    refund the gateway did not confirm, a dispute that blocks it)."""

    slot: Slot
    ended: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)


class CancelSlot:
    """Cancel a slot: no more sales, then every booking on it ends.

    1. One statement marks the slot cancelled; from then on no hold or late booking can
       take its seats (the seat statements refuse a cancelled slot).
    2. Each booking on it is cancelled by the tenant, one at a time, through the same use
       case as a single cancellation: an unpaid checkout is abandoned (its session expired
       first, its seats released), a paid booking refunded in full through the refund flow.

    Cancelling again, or reconciliation after a crash (`finish`), repeats step 2 for the
    bookings still open; each of them is idempotent, so nothing is refunded twice.
    """

    def __init__(self, uow: UnitOfWorkFactory, cancel_booking: CancelBooking, clock: Clock) -> None:
        self._uow = uow
        self._cancel_booking = cancel_booking
        self._clock = clock

    async def __call__(self, command: SlotCancellation) -> SlotCancelled:
        async with self._uow() as uow:
            slot = await get_slot(uow.slots, command.tenant_id, command.slot_id)
            cancelled = slot.cancel(self._clock.now(), command.reason)
            if cancelled is not slot and await uow.slots.cancel(cancelled):
                uow.outbox.add(*slot_events(slot, cancelled))
                await uow.commit()
        return await self.finish(command.tenant_id, command.slot_id)

    async def finish(self, tenant_id: str, slot_id: str) -> SlotCancelled:
        """End every booking still open on the cancelled slot."""
        async with self._uow() as uow:
            slot = await get_slot(uow.slots, tenant_id, slot_id)
        result = SlotCancelled(slot)
        if not slot.is_cancelled:
            return result
        # A checkout paid while its hold was being released turns into a paid booking: a
        # second pass cancels and refunds it too.
        for _ in range(PASSES):
            async with self._uow() as uow:
                still_open = await uow.bookings.on_slot(tenant_id, slot_id)
            if not still_open:
                break
            for booking in still_open:
                if await self._end(booking.id, slot):
                    result.ended.append(booking.id)
        async with self._uow() as uow:
            result.slot = await get_slot(uow.slots, tenant_id, slot_id)
            result.unfinished = [b.id for b in await uow.bookings.on_slot(tenant_id, slot_id)]
        return result

    async def _end(self, booking_id: str, slot: Slot) -> bool:
        try:
            ended = await self._cancel_booking(
                CancelCommand(
                    booking_id=booking_id,
                    by=CancelledBy.TENANT,
                    tenant_id=slot.tenant_id,
                    reason=slot.cancellation_reason,
                )
            )
        except (ApplicationError, DomainError) as error:
            # The gateway is down, a dispute blocks the refund, or the booking was paid
            # meanwhile: the next pass or reconciliation tries again.
            log.info(
                "booking %s of cancelled slot %s left for later: %s", booking_id, slot.id, error
            )
            return False
        return ended.seat_state is SeatState.RELEASED


class FinishSlotCancellations:
    """Reconciliation's part: finish every slot cancellation that was interrupted."""

    def __init__(self, uow: UnitOfWorkFactory, cancel_slot: CancelSlot) -> None:
        self._uow = uow
        self._cancel_slot = cancel_slot

    async def __call__(self) -> list[SlotCancelled]:
        async with self._uow() as uow:
            unfinished = await uow.slots.cancelled_with_bookings()
        return [await self._cancel_slot.finish(t, s) for t, s in unfinished]
