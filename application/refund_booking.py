"""A tenant refunds part or all of a paid booking; the seats stay booked."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports.gateway import PaymentGateway
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import UnitOfWork
from application.refunds import RefundFlow
from application.uow import UnitOfWorkFactory
from domain.booking import Booking
from domain.cancellation import RefundSplit, partial_refund
from domain.errors import IllegalTransition, RefundExceedsPaid
from domain.money import Money


@dataclass(frozen=True, slots=True)
class RefundCommand:
    tenant_id: str
    booking_id: str
    amount: Money | None = None  # None: everything still refundable
    # The client's idempotency key: a retry with it (e.g. after "try again") answers with
    # the refund its first attempt reserved, never a second one.
    idempotency_key: str | None = None


class RefundBooking:
    """Refund an amount (or all that is left); never more than was paid, even concurrently.

    Returns the booking once the gateway confirmed the refund. Raises RefundExceedsPaid
    (nothing left to refund, counting refunds of unknown outcome), IllegalTransition
    (unpaid), InvalidRefund, a gateway refusal, or GatewayOutcomeUnknown (retry: nothing
    was confirmed; the retry settles what the gateway made).
    """

    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock) -> None:
        self._refund = RefundFlow(uow, gateway, clock)

    async def __call__(self, command: RefundCommand) -> Booking:
        async def decide(uow: UnitOfWork, booking: Booking) -> RefundSplit:
            if not booking.is_paid:
                raise IllegalTransition(booking.id, booking.status, "refund an unpaid booking")
            amount = command.amount
            if amount is None:  # everything still refundable
                amount = booking.refundable
                if amount.is_zero:
                    raise RefundExceedsPaid(0, 0, booking.currency)
            return partial_refund(booking.quote, amount, booking.refund_on_cancel, booking.refunded)

        return await self._refund(
            command.tenant_id,
            command.booking_id,
            decide,
            "refund by the tenant",
            request_key=command.idempotency_key,
        )
