"""In-memory bookings, with optimistic locking as the SQL adapter does it."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime

from adapters.sql.pagination import decode_cursor, encode_cursor
from application.errors import NotFound
from application.ports.repositories import AlreadyExists, BookingPage, ConcurrentUpdate
from domain.booking import Booking, BookingStatus, PaymentStatus
from domain.errors import IllegalTransition
from domain.hold import hold_lapsed
from domain.statuses import statuses_holding_seats, statuses_taking_seats
from tests.fakes.slots import InMemorySlotRepository
from tests.fakes.tables import Tables


class InMemoryBookingRepository:
    def __init__(self, tables: Tables) -> None:
        self._t = tables
        self._versions: dict[tuple[str, str], int] = {}

    def _seen(self, booking: Booking, version: int) -> Booking:
        self._versions[booking.tenant_id, booking.id] = version
        return booking

    async def add(self, booking: Booking) -> None:
        key = (booking.tenant_id, booking.id)
        if key in self._t.bookings:
            raise AlreadyExists(f"booking {booking.id} exists")
        if (booking.tenant_id, booking.slot_id) not in self._t.slots:
            raise NotFound("slot", booking.slot_id)
        self._t.bookings[key] = (booking, 1)
        self._seen(booking, 1)

    async def count_pending_for_customer(self, tenant_id: str, email: str) -> int:
        return sum(
            1
            for (tenant, _), (booking, _) in self._t.bookings.items()
            if tenant == tenant_id
            and booking.status is BookingStatus.PENDING_PAYMENT
            and booking.customer.email.lower() == email.lower()
        )

    async def add_holding_seats(self, booking: Booking) -> bool:
        slots = InMemorySlotRepository(self._t)
        if not await slots.try_hold(booking.tenant_id, booking.slot_id, booking.seats):
            return False
        try:
            await self.add(booking)
        except AlreadyExists:
            await slots.release_hold(booking.tenant_id, booking.slot_id, booking.seats)
            raise
        return True

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        stored = self._t.bookings.get((tenant_id, booking_id))
        return None if stored is None else self._seen(*stored)

    async def on_slot(self, tenant_id: str, slot_id: str) -> builtins.list[Booking]:
        taking = statuses_taking_seats()
        found = sorted(
            (
                (b, v)
                for b, v in self._t.bookings.values()
                if b.tenant_id == tenant_id and b.slot_id == slot_id and b.status in taking
            ),
            key=lambda bv: (bv[0].created_at, bv[0].id),
        )
        return [self._seen(b, v) for b, v in found]

    async def update(self, booking: Booking) -> None:
        key = (booking.tenant_id, booking.id)
        stored = self._t.bookings.get(key)
        if stored is None:
            raise NotFound("booking", booking.id)
        read_at = self._versions.get(key)
        if read_at is not None and read_at != stored[1]:
            raise ConcurrentUpdate(f"booking {booking.id} changed since it was read")
        self._t.bookings[key] = (booking, stored[1] + 1)
        self._seen(booking, stored[1] + 1)

    async def attach_session(self, tenant_id: str, booking_id: str, session_id: str) -> bool:
        stored = self._t.bookings.get((tenant_id, booking_id))
        if stored is None:
            return False
        booking, version = stored
        try:
            attached = booking.attach_session(session_id)
        except IllegalTransition:
            return False
        if attached is booking:  # this session already: nothing changes
            return False
        self._t.bookings[tenant_id, booking_id] = (attached, version + 1)
        return True

    async def find_by_id(self, booking_id: str) -> Booking | None:
        for booking, version in self._t.bookings.values():
            if booking.id == booking_id:
                return self._seen(booking, version)
        return None

    async def find_by_gateway_session(self, session_id: str) -> Booking | None:
        for booking, version in self._t.bookings.values():
            if booking.gateway_session_id == session_id:
                return self._seen(booking, version)
        return None

    async def find_by_payment_intent(self, payment_intent_id: str) -> Booking | None:
        for booking, version in self._t.bookings.values():
            if booking.payment_intent_id == payment_intent_id:
                return self._seen(booking, version)
        return None

    def _lapsed(self, as_of: datetime) -> builtins.list[tuple[Booking, int]]:
        holding = statuses_holding_seats()
        return [
            (b, v)
            for b, v in self._t.bookings.values()
            if b.status in holding and hold_lapsed(b.hold_expires_at, as_of)
        ]

    async def claim_lapsed_holds(
        self,
        tenant_id: str,
        as_of: datetime,
        *,
        now: datetime,
        claim_until: datetime,
        limit: int = 100,
    ) -> builtins.list[Booking]:
        claims = self._t.sweep_claims
        found = sorted(
            (
                (b, v)
                for b, v in self._lapsed(as_of)
                if b.tenant_id == tenant_id and claims.get((b.tenant_id, b.id), now) <= now
            ),
            key=lambda bv: (bv[0].hold_expires_at, bv[0].id),
        )[:limit]
        for booking, _ in found:
            claims[booking.tenant_id, booking.id] = claim_until
        return [self._seen(b, v) for b, v in found]

    async def with_refunds_due(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        found = sorted(
            key
            for key, (booking, _) in self._t.bookings.items()
            if booking.unknown_refunds or booking.owes_system_refund
        )
        return found[:limit]

    async def tenants_with_lapsed_holds(self, as_of: datetime) -> builtins.list[str]:
        return sorted({b.tenant_id for b, _ in self._lapsed(as_of)})

    async def list(
        self,
        tenant_id: str | None,
        *,
        statuses: Collection[BookingStatus] = (),
        payment_statuses: Collection[PaymentStatus] = (),
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> BookingPage:
        after = decode_cursor(cursor) if cursor is not None else None
        wanted = {BookingStatus(s) for s in statuses}
        paid_as = {PaymentStatus(s) for s in payment_statuses}
        found = sorted(
            (
                (b, v)
                for b, v in self._t.bookings.values()
                if tenant_id in (None, b.tenant_id)
                and (not wanted or b.status in wanted)
                and (not paid_as or b.payment_status in paid_as)
                and (created_from is None or b.created_at >= created_from)
                and (created_before is None or b.created_at < created_before)
                and (starts_from is None or b.starts_at >= starts_from)
                and (starts_before is None or b.starts_at < starts_before)
                and (after is None or (b.created_at, b.id) < after)
            ),
            key=lambda bv: (bv[0].created_at, bv[0].id),
            reverse=True,
        )
        page = [self._seen(b, v) for b, v in found[:limit]]
        next_cursor = (
            encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit else None
        )
        return BookingPage(items=tuple(page), next_cursor=next_cursor)
