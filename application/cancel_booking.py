"""Cancel a paid booking: the tenant refunds in full, a customer under the policy windows.

A refund of the booking whose outcome is still unknown (an earlier attempt got no answer)
is settled or released first, from the gateway's answer to re-sending it; only then is the
refund decided, on what the gateway confirmed. The refund is reserved on the booking (for
this cancellation), sent to the gateway, then one transaction settles it, cancels the
booking, frees the seats and writes the ledger (see application/refunds.py). Until the
gateway confirms the refund the booking is not cancelled: GatewayOutcomeUnknown means
"retry", and a retry or reconciliation finishes the cancellation. A cancellation with
nothing to refund only does the last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.credentials import matches
from application.errors import NotFound
from application.ports import Clock, PaymentGateway, UnitOfWork
from application.refunds import RefundFlow, cancel_and_free_seats
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus, CancelledBy
from domain.cancellation import (
    CancellationPolicy,
    RefundSplit,
    customer_cancellation_refund,
    tenant_cancellation_refund,
)
from domain.errors import IllegalTransition


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
        self._clock = clock
        self._refund = RefundFlow(uow, gateway, clock)

    async def __call__(self, command: CancelCommand) -> Booking:
        async with self._uow() as uow:
            found = await _find(uow, command)
        now = self._clock.now()

        async def decide(uow: UnitOfWork, booking: Booking) -> RefundSplit | None:
            if booking.status is BookingStatus.CANCELLED:
                return None
            if booking.status is not BookingStatus.CONFIRMED:
                raise IllegalTransition(booking.id, booking.status, "cancel")
            offering = await uow.offerings.get(booking.tenant_id, booking.offering_id)
            if offering is None:
                raise NotFound("booking", booking.id)
            return _refund_for(booking, offering.cancellation_policy, command.by, now)

        async def cancel(uow: UnitOfWork, booking: Booking) -> Booking:
            return await cancel_and_free_seats(uow, booking, command.by, command.reason)

        return await self._refund(
            found.tenant_id,
            found.id,
            decide,
            f"cancelled by the {command.by.value}",
            cancel,
            cancels=command.by,
        )


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
