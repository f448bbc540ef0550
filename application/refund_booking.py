"""A tenant refunds part or all of a paid booking; the seats stay booked."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFound
from application.ports import Clock, PaymentGateway
from application.refunds import issue_refund
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, Refund
from domain.cancellation import partial_refund
from domain.errors import IllegalTransition, RefundExceedsPaid
from domain.ledger import refund_entries
from domain.money import Money


@dataclass(frozen=True, slots=True)
class RefundCommand:
    tenant_id: str
    booking_id: str
    amount: Money | None = None  # None: everything still refundable


class RefundBooking:
    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock

    async def __call__(self, command: RefundCommand) -> Booking:
        async with self._uow() as uow:
            booking = await uow.bookings.get(command.tenant_id, command.booking_id)
            tenant = await uow.tenants.get(command.tenant_id)
            if booking is None or tenant is None:
                raise NotFound("booking", command.booking_id)
        if not booking.is_paid:
            raise IllegalTransition(booking.id, booking.status, "refund an unpaid booking")
        amount = command.amount or booking.refundable
        if amount.is_zero:
            raise RefundExceedsPaid(0, 0, booking.currency)
        split = partial_refund(booking.quote, amount, booking.refund_on_cancel, booking.refunded)
        result = await issue_refund(self._gateway, tenant, booking, split, "refund by the tenant")
        now = self._clock.now()
        async with self._uow() as uow:
            current = await uow.bookings.get(booking.tenant_id, booking.id)
            if current is None:
                raise NotFound("booking", booking.id)
            refunded = current.record_refund(result.refund_id, split)
            if refunded is not current:
                for entry in refund_entries(refunded, Refund(result.refund_id, split), now):
                    await uow.ledger.add(entry)
                await uow.bookings.update(refunded)
            await uow.commit()
        return refunded
