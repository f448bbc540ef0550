"""Cancel a paid booking: the tenant refunds in full, a customer under the policy windows.

The refund goes to the gateway first, with an idempotency key that counts the booking's
refunds; then one transaction cancels the booking, frees the seats and writes the ledger.
If that transaction fails, a retry sends the same key and gets the same refund back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.credentials import matches
from application.errors import NotFound
from application.ports import Clock, PaymentGateway, UnitOfWork
from application.refunds import issue_refund
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus, CancelledBy, Refund
from domain.cancellation import (
    CancellationPolicy,
    RefundSplit,
    customer_cancellation_refund,
    tenant_cancellation_refund,
)
from domain.errors import IllegalTransition
from domain.ledger import refund_entries


@dataclass(frozen=True, slots=True)
class CancelCommand:
    booking_id: str
    by: CancelledBy
    tenant_id: str | None = None  # the tenant cancelling
    token: str | None = None  # the customer's booking token
    reason: str | None = None


class CancelBooking:
    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock

    async def __call__(self, command: CancelCommand) -> Booking:
        now = self._clock.now()
        async with self._uow() as uow:
            booking = await _find(uow, command)
            if booking.status is BookingStatus.CANCELLED:
                return booking
            if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.REFUNDED):
                raise IllegalTransition(booking.id, booking.status, "cancel")
            tenant = await uow.tenants.get(booking.tenant_id)
            offering = await uow.offerings.get(booking.tenant_id, booking.offering_id)
            if tenant is None or offering is None:
                raise NotFound("booking", command.booking_id)
        split = self._refund_for(booking, offering.cancellation_policy, command.by, now)
        refund_id = None
        if not split.is_empty:
            result = await issue_refund(
                self._gateway, tenant, booking, split, f"cancelled by the {command.by.value}"
            )
            refund_id = result.refund_id
        async with self._uow() as uow:
            current = await uow.bookings.get(booking.tenant_id, booking.id)
            if current is None:
                raise NotFound("booking", booking.id)
            cancelled = current.cancel(command.by, command.reason)
            if cancelled is not current:
                await uow.slots.release_booked(current.tenant_id, current.slot_id, current.seats)
            if refund_id is not None:
                refunded = cancelled.record_refund(refund_id, split)
                if refunded is not cancelled:
                    for entry in refund_entries(refunded, Refund(refund_id, split), now):
                        await uow.ledger.add(entry)
                cancelled = refunded
            if cancelled is not current:
                await uow.bookings.update(cancelled)
            await uow.commit()
        return cancelled

    @staticmethod
    def _refund_for(
        booking: Booking, policy: CancellationPolicy | None, by: CancelledBy, now: datetime
    ) -> RefundSplit:
        if by is CancelledBy.CUSTOMER:
            percent = (policy or CancellationPolicy()).refund_percent(booking.starts_at, now)
            return customer_cancellation_refund(
                booking.quote, percent, booking.refund_on_cancel, booking.refunded
            )
        return tenant_cancellation_refund(booking.quote, booking.refund_on_cancel, booking.refunded)


async def _find(uow: UnitOfWork, command: CancelCommand) -> Booking:
    """The tenant finds its own booking; the customer needs the booking's token."""
    if command.tenant_id is not None:
        booking = await uow.bookings.get(command.tenant_id, command.booking_id)
    else:
        booking = await uow.bookings.find_by_id(command.booking_id)
        if booking is not None and not matches(command.token or "", booking.access_token_hash):
            booking = None
    if booking is None:
        raise NotFound("booking", command.booking_id)
    return booking
