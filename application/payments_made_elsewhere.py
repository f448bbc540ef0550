"""Refunds and disputes made outside Bookpay (e.g. in Stripe's dashboard), recorded once.

A `charge.refunded` event tells how much of the charge is refunded in all
(`amount_refunded`); Stripe leaves the list of refunds out of it unless expanded. So the
refund not yet on the booking is the difference between that total and what the booking
already counts — its settled refunds and the ones Bookpay has reserved but the gateway has
not confirmed yet. That makes Bookpay's own refunds, whose events may arrive before the
refund is settled, count once; and a replayed or stale event finds no difference. The
difference is recorded as one refund, under the gateway's refund id when the event names
exactly that refund, else under "<charge id>@<cumulative amount>", which is unique too.
"""

from __future__ import annotations

from application.ports import ChargeRefunded, DisputeCreated, UnitOfWork
from domain.booking import Booking, Refund
from domain.cancellation import partial_refund
from domain.dispute import Dispute
from domain.errors import DomainError
from domain.ledger import refund_entries
from domain.money import Money


async def record_payment_made_elsewhere(
    uow: UnitOfWork, event: ChargeRefunded | DisputeCreated
) -> str | None:
    """Record what the event tells; the booking id it touched, or None when it changes nothing."""
    if event.payment_intent_id is None:
        return None
    booking = await uow.bookings.find_by_payment_intent(event.payment_intent_id)
    if booking is None:
        return None
    if isinstance(event, DisputeCreated):
        return await _record_dispute(uow, booking, event)
    return await _record_refund(uow, booking, event)


async def _record_dispute(uow: UnitOfWork, booking: Booking, event: DisputeCreated) -> str | None:
    dispute = Dispute(
        tenant_id=booking.tenant_id,
        booking_id=booking.id,
        dispute_id=event.dispute_id,
        amount=event.amount,
        reason=event.reason,
        created_at=event.created_at,
    )
    return booking.id if await uow.disputes.add(dispute) else None


async def _record_refund(uow: UnitOfWork, booking: Booking, event: ChargeRefunded) -> str | None:
    if not booking.is_paid or event.amount_refunded.currency != booking.currency:
        return None
    counted = booking.refunded.customer_refund.amount
    difference = event.amount_refunded.amount - counted
    if difference <= 0:
        return None
    amount = Money(difference, booking.currency)
    try:
        split = partial_refund(booking.quote, amount, booking.refund_on_cancel, booking.refunded)
        refunded = booking.record_refund(_refund_id(booking, event, amount), split)
    except DomainError:
        # More than the booking can still give back (e.g. a reservation Bookpay released
        # after the gateway refunded anyway): left to reconciliation, never guessed.
        return None
    (refund,) = (r for r in refunded.refunds if r not in booking.refunds)
    for entry in refund_entries(refunded, Refund(refund.refund_id, split), event.created_at):
        await uow.ledger.add(entry)
    await uow.bookings.update(refunded)
    return booking.id


def _refund_id(booking: Booking, event: ChargeRefunded, amount: Money) -> str:
    known = {refund.refund_id for refund in booking.refunds}
    unknown = [record for record in event.refunds if record.refund_id not in known]
    if len(unknown) == 1 and unknown[0].amount == amount:
        return unknown[0].refund_id
    return f"{event.charge_id}@{event.amount_refunded.amount}"
