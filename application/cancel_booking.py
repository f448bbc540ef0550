"""Cancel a booking: the tenant refunds in full, a customer under the booking's own terms.

Paid: a refund of the booking whose outcome is still unknown (an earlier attempt got no
answer) is settled or released first, from the gateway's answer to re-sending it; only then
is the refund decided, on what the gateway confirmed, under the terms the booking was sold
under (never the offering's policy now). The refund is reserved on the booking (for this
cancellation), sent to the gateway, then one transaction settles it, cancels the booking,
frees the seats and writes the ledger (see application/refunds.py). Until the gateway
confirms the refund the booking is not cancelled: GatewayOutcomeUnknown means "retry", and
a retry or reconciliation finishes the cancellation. A cancellation with nothing to refund
only does the last step.

Unpaid (still in checkout): the booking is abandoned. Its Checkout Session is expired at
the gateway first, so it can no longer be paid, then its seats go back on sale and it is
`expired` (see application/holds.py). A session paid meanwhile is recorded as paid, and
the cancellation is refused: the customer then has a paid booking to cancel instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.credentials import matches
from application.errors import NotFound
from application.holds import EndHold, Ending, cancel_and_free_seats
from application.payment_events import ApplyPaymentEvent
from application.ports.gateway import PaymentGateway
from application.ports.repositories import ConcurrentUpdate
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import UnitOfWork
from application.refunds import RefundFlow
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus, CancelledBy
from domain.cancellation import RefundSplit
from domain.errors import IllegalTransition
from domain.tenant import Tenant


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
        self._end_hold = EndHold(uow, gateway, ApplyPaymentEvent(uow, gateway, clock), clock)

    async def __call__(self, command: CancelCommand) -> Booking:
        async with self._uow() as uow:
            found = await _find(uow, command)
            tenant = await uow.tenants.get(found.tenant_id)
        if found.status in (BookingStatus.PENDING_PAYMENT, BookingStatus.EXPIRED):
            return await self._release_unpaid(found, tenant, Booking.abandon)
        if found.status is BookingStatus.AWAITING_ASYNC_PAYMENT and command.by is not (
            CancelledBy.CUSTOMER
        ):
            # The tenant ends the hold of a payment still on its way; should it succeed
            # after all, it is a late payment (confirmed while seats are free, else refunded).
            return await self._release_unpaid(found, tenant, Booking.expire)
        now = self._clock.now()

        async def decide(uow: UnitOfWork, booking: Booking) -> RefundSplit | None:
            if booking.status is BookingStatus.CANCELLED:
                return None
            if booking.status is not BookingStatus.CONFIRMED:
                raise IllegalTransition(booking.id, booking.status, "cancel")
            return _refund_for(booking, command.by, now)

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

    async def leave_checkout(self, booking_id: str, token: str) -> Booking:
        """The customer left the hosted checkout unpaid: end the hold now (as `abandon`).

        A booking no longer in checkout (paid meanwhile, already expired) is left as it is:
        leaving a checkout never cancels a payment. A booking changed meanwhile (paid, or
        abandoned from another page: ConcurrentUpdate) is returned as it is now. Raises
        NotFound for a wrong token.
        """
        command = CancelCommand(booking_id=booking_id, by=CancelledBy.CUSTOMER, token=token)
        async with self._uow() as uow:
            found = await _find(uow, command)
            tenant = await uow.tenants.get(found.tenant_id)
        if found.status is not BookingStatus.PENDING_PAYMENT:
            return found
        try:
            return await self._release_unpaid(found, tenant, Booking.abandon)
        except (IllegalTransition, ConcurrentUpdate):  # paid or abandoned meanwhile
            async with self._uow() as uow:
                return await _find(uow, command)

    async def _release_unpaid(
        self, booking: Booking, tenant: Tenant | None, ending: Ending
    ) -> Booking:
        if booking.status is BookingStatus.EXPIRED:
            return booking  # abandoned (or lapsed) already: a repeat changes nothing
        account_id = tenant.charge_account_id if tenant is not None else None
        outcome = await self._end_hold(booking, account_id, ending)
        if outcome.booking is None:
            raise NotFound("booking", booking.id)
        if outcome.booking.status is not BookingStatus.EXPIRED:
            # Paid (or failed) meanwhile: nothing was abandoned.
            raise IllegalTransition(booking.id, outcome.booking.status, "abandon")
        return outcome.booking


def _refund_for(booking: Booking, by: CancelledBy, now: datetime) -> RefundSplit:
    """The refund under the booking's own terms, less what went back already."""
    if by is CancelledBy.CUSTOMER:
        terms = booking.terms
        return terms.customer_refund(booking.quote, booking.starts_at, now, booking.refunded)
    return booking.terms.tenant_refund(booking.quote, booking.refunded)


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
