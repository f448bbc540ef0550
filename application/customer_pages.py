"""What the hosted booking pages show a customer: the business, its slots, their booking.

Read-only. Every decision (is a slot on sale, what would cancelling now give back) is the
domain's; the pages only render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.booking_queries import BookingQueries
from application.errors import NotFound
from application.ports.time_and_identity import Clock
from application.slot_queries import ListAvailability
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus
from domain.cancellation import RefundSplit
from domain.errors import DomainError
from domain.offering import Offering, Slot


@dataclass(frozen=True, slots=True)
class Business:
    """The tenant as its customers see it: name, slug and IANA timezone."""

    name: str
    slug: str
    timezone: str


@dataclass(frozen=True, slots=True)
class SlotOnSale:
    slot: Slot
    bookable: bool  # False when full, started or cancelled


@dataclass(frozen=True, slots=True)
class OfferingSlots:
    business: Business
    offering: Offering
    slots: list[SlotOnSale]


@dataclass(frozen=True, slots=True)
class CustomerBooking:
    """A booking as its customer sees it, with what cancelling now would do.

    `cancel_refund`: the refund a cancellation now gives, under the booking's own terms;
    None when the customer cannot cancel (not confirmed, outside every window, a dispute).
    """

    booking: Booking
    business: Business
    offering_name: str
    cancel_refund: RefundSplit | None


class CustomerPages:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        availability: ListAvailability,
        bookings: BookingQueries,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._availability = availability
        self._bookings = bookings

    async def business(self, tenant_slug: str) -> Business:
        """NotFound for an unknown slug."""
        async with self._uow() as uow:
            tenant = await uow.tenants.get_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound("tenant", tenant_slug)
        return Business(tenant.name, tenant.slug, tenant.timezone)

    async def offering_slots(
        self, tenant_slug: str, offering_id: str, *, limit: int = 200
    ) -> OfferingSlots:
        """The offering's next `limit` slots, each saying whether it is on sale now."""
        business = await self.business(tenant_slug)
        found = await self._availability(tenant_slug, offering_id, limit=limit)
        now = self._clock.now()
        return OfferingSlots(
            business,
            found.offering,
            [SlotOnSale(slot, _on_sale(slot, now)) for slot in found.slots],
        )

    async def booking(self, booking_id: str, token: str) -> CustomerBooking:
        """NotFound for an unknown booking or a wrong token."""
        booking = await self._bookings.for_customer(booking_id, token)
        async with self._uow() as uow:
            tenant = await uow.tenants.get(booking.tenant_id)
            offering = await uow.offerings.get(booking.tenant_id, booking.offering_id)
        if tenant is None:
            raise NotFound("booking", booking_id)
        return CustomerBooking(
            booking,
            Business(tenant.name, tenant.slug, tenant.timezone),
            offering.name if offering is not None else "",
            self._cancel_refund(booking),
        )

    def _cancel_refund(self, booking: Booking) -> RefundSplit | None:
        if booking.status is not BookingStatus.CONFIRMED:
            return None
        try:
            booking.require_no_blocking_dispute()
            return booking.terms.customer_refund(
                booking.quote, booking.starts_at, self._clock.now(), booking.refunded
            )
        except DomainError:
            return None


def _on_sale(slot: Slot, now: datetime) -> bool:
    try:
        slot.ensure_bookable_at(now)
    except DomainError:
        return False
    return slot.seats_available > 0
