"""A tenant opens, resizes and cancels slots; customers see how many seats are left."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from application.cancel_booking import CancelBooking, CancelCommand
from application.errors import ApplicationError, InvalidRequest, NotFound
from application.ports.repositories import SlotRepository
from application.ports.time_and_identity import Clock, IdGenerator
from application.uow import UnitOfWorkFactory
from domain.booking import CancelledBy, SeatState
from domain.errors import CapacityBelowSeatsTaken, DomainError, SlotStartTaken
from domain.events import slot_events
from domain.offering import Offering, Slot

log = logging.getLogger("bookpay.slots")

# Passes over a cancelled slot's open bookings in one go; reconciliation does the rest.
PASSES = 2

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
        """The new slots. SlotStartTaken when a start repeats in the request or the offering
        already has a slot then (one slot per start time per offering)."""
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


@dataclass(frozen=True, slots=True)
class SlotResize:
    tenant_id: str
    slot_id: str
    capacity: int


class ResizeSlot:
    """Change a slot's capacity, never below the seats held and booked on it.

    The domain decides on the slot as read; one conditional statement then applies it only
    while the seats taken still fit, so a hold taken meanwhile cannot be squeezed out.
    Raises NotFound, SlotCancelled, CapacityBelowSeatsTaken, InvalidOffering (a capacity
    out of range).
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, command: SlotResize) -> Slot:
        async with self._uow() as uow:
            slot = await _get_slot(uow.slots, command.tenant_id, command.slot_id)
            slot.resize(command.capacity)
            if not await uow.slots.resize(slot.tenant_id, slot.id, command.capacity):
                # Seats were taken between the read and the write: decide on them now.
                current = await _get_slot(uow.slots, command.tenant_id, command.slot_id)
                raise CapacityBelowSeatsTaken(slot.id, command.capacity, current.seats_taken)
            await uow.commit()
            return await _get_slot(uow.slots, command.tenant_id, command.slot_id)


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
            slot = await _get_slot(uow.slots, command.tenant_id, command.slot_id)
            cancelled = slot.cancel(self._clock.now(), command.reason)
            if cancelled is not slot and await uow.slots.cancel(cancelled):
                uow.outbox.add(*slot_events(slot, cancelled))
                await uow.commit()
        return await self.finish(command.tenant_id, command.slot_id)

    async def finish(self, tenant_id: str, slot_id: str) -> SlotCancelled:
        """End every booking still open on the cancelled slot."""
        async with self._uow() as uow:
            slot = await _get_slot(uow.slots, tenant_id, slot_id)
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
            result.slot = await _get_slot(uow.slots, tenant_id, slot_id)
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


async def _get_slot(slots: SlotRepository, tenant_id: str, slot_id: str) -> Slot:
    slot = await slots.get(tenant_id, slot_id)
    if slot is None:
        raise NotFound("slot", slot_id)
    return slot
