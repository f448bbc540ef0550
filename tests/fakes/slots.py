"""In-memory slots: every seat change is the domain's (`Slot`), applied only when allowed."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection
from datetime import datetime

from application.errors import NotFound
from application.ports.catalogue import SlotForSale
from application.ports.repositories import AlreadyExists
from domain.errors import (
    CapacityBelowSeatsTaken,
    SeatsUnavailable,
    SlotCancelled,
    SlotCapacityError,
)
from domain.offering import Slot, require_seats
from domain.statuses import statuses_taking_seats
from tests.fakes.tables import Tables

# What the domain refuses when the seats do not allow a change: the SQL adapter's
# conditional statements change nothing then, and answer False.
_REFUSALS = (SeatsUnavailable, SlotCapacityError, CapacityBelowSeatsTaken, SlotCancelled)


class InMemorySlotRepository:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, slot: Slot) -> None:
        key = (slot.tenant_id, slot.id)
        if key in self._t.slots:
            raise AlreadyExists(f"slot {slot.id} exists")
        if (slot.tenant_id, slot.offering_id) not in self._t.offerings:
            raise NotFound("offering", slot.offering_id)
        if await self.taken_starts(slot.tenant_id, slot.offering_id, [slot.starts_at]):
            raise AlreadyExists(f"offering {slot.offering_id} has a slot at {slot.starts_at}")
        self._t.slots[key] = slot

    async def taken_starts(
        self, tenant_id: str, offering_id: str, starts: Collection[datetime]
    ) -> set[datetime]:
        return {
            s.starts_at
            for (t, _), s in self._t.slots.items()
            if t == tenant_id
            and s.offering_id == offering_id
            and s.starts_at in starts
            and not s.is_cancelled
        }

    async def offering_has_slots(self, tenant_id: str, offering_id: str) -> bool:
        return any(
            t == tenant_id and s.offering_id == offering_id for (t, _), s in self._t.slots.items()
        )

    async def get(self, tenant_id: str, slot_id: str) -> Slot | None:
        return self._t.slots.get((tenant_id, slot_id))

    async def get_for_sale(self, tenant_slug: str, slot_id: str) -> SlotForSale | None:
        tenant = next((t for t in self._t.tenants.values() if t.slug == tenant_slug), None)
        if tenant is None:
            return None
        slot = self._t.slots.get((tenant.id, slot_id))
        offering = (
            None
            if slot is None
            else self._t.with_override(self._t.offerings.get((tenant.id, slot.offering_id)))
        )
        return SlotForSale(tenant, slot, offering, self._t.tenant_policy(tenant.id))

    async def list_for_offering(
        self,
        tenant_id: str,
        offering_id: str,
        *,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[Slot]:
        found = [
            s
            for (t, _), s in self._t.slots.items()
            if t == tenant_id
            and s.offering_id == offering_id
            and (starts_from is None or s.starts_at >= starts_from)
            and (starts_before is None or s.starts_at < starts_before)
            and (after is None or (s.starts_at, s.id) > after)
        ]
        return sorted(found, key=lambda s: (s.starts_at, s.id))[:limit]

    def _apply(self, tenant_id: str, slot_id: str, change: Callable[[Slot], Slot]) -> bool:
        """Store the slot as the domain's `change` leaves it; False, storing nothing, when
        there is no such slot or the domain refuses the change (as the SQL adapter's
        conditional statements refuse it)."""
        slot = self._t.slots.get((tenant_id, slot_id))
        if slot is None:
            return False
        try:
            self._t.slots[tenant_id, slot_id] = change(slot)
        except _REFUSALS:
            return False
        return True

    async def try_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        return self._apply(tenant_id, slot_id, lambda slot: slot.hold(seats))

    async def release_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        return self._apply(tenant_id, slot_id, lambda slot: slot.release_hold(seats))

    async def confirm_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        return self._apply(tenant_id, slot_id, lambda slot: slot.confirm_hold(seats))

    async def try_book(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        return self._apply(tenant_id, slot_id, lambda slot: slot.book(seats))

    async def release_booked(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        return self._apply(tenant_id, slot_id, lambda slot: slot.release_booked(seats))

    async def resize(self, tenant_id: str, slot_id: str, capacity: int) -> bool:
        return self._apply(tenant_id, slot_id, lambda slot: slot.resize(capacity))

    async def cancel(self, slot: Slot) -> bool:
        at = slot.cancelled_at
        stored = self._t.slots.get((slot.tenant_id, slot.id))
        if at is None or stored is None or stored.is_cancelled:
            return False
        return self._apply(
            slot.tenant_id, slot.id, lambda stored: stored.cancel(at, slot.cancellation_reason)
        )

    async def cancelled_with_bookings(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        taking = statuses_taking_seats()
        open_slots = {
            (b.tenant_id, b.slot_id) for b, _ in self._t.bookings.values() if b.status in taking
        }
        found = sorted(
            key for key, slot in self._t.slots.items() if slot.is_cancelled and key in open_slots
        )
        return found[:limit]
