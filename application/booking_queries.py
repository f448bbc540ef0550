"""Read bookings: the tenant's list and detail with ledger, the customer's status view."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from application.credentials import matches
from application.errors import NotFound
from application.ports.repositories import BookingPage
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus, PaymentStatus
from domain.dispute import Dispute
from domain.ledger import LedgerEntry


@dataclass(frozen=True, slots=True)
class BookingDetail:
    booking: Booking
    ledger: list[LedgerEntry]
    disputes: list[Dispute] = field(default_factory=list)


class BookingQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def for_tenant(self, tenant_id: str, booking_id: str) -> BookingDetail:
        async with self._uow() as uow:
            booking = await uow.bookings.get(tenant_id, booking_id)
            if booking is None:
                raise NotFound("booking", booking_id)
            return BookingDetail(
                booking,
                await uow.ledger.list_for_booking(tenant_id, booking_id),
                list(booking.disputes),
            )

    async def list_for_tenant(
        self,
        tenant_id: str | None,
        *,
        statuses: Collection[BookingStatus],
        payment_statuses: Collection[PaymentStatus] = (),
        starts_from: datetime | None,
        starts_before: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> BookingPage:
        """One page of the tenant's bookings, newest first; every tenant's when `tenant_id`
        is None (the platform's support work)."""
        async with self._uow() as uow:
            return await uow.bookings.list(
                tenant_id,
                statuses=statuses,
                payment_statuses=payment_statuses,
                starts_from=starts_from,
                starts_before=starts_before,
                limit=limit,
                cursor=cursor,
            )

    async def for_customer(self, booking_id: str, token: str) -> Booking:
        """The booking whose token the customer holds; any other token is NotFound."""
        async with self._uow() as uow:
            booking = await uow.bookings.find_by_id(booking_id)
        if booking is None or not matches(token, booking.access_token_hash):
            raise NotFound("booking", booking_id)
        return booking
