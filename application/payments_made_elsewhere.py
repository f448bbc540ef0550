"""Refunds and disputes made outside Bookpay (e.g. in Stripe's dashboard), recorded once.

A `charge.refunded` event tells how much of the charge is refunded in all
(`amount_refunded`); Stripe leaves the list of refunds out of it unless expanded. So the
refund not yet on the booking is the difference between that total and what the booking
already counts — its settled refunds and the ones Bookpay has reserved but the gateway has
not confirmed yet. That makes Bookpay's own refunds, whose events may arrive before the
refund is settled, count once; and a replayed or stale event finds no difference. The
difference is recorded as one refund, under the gateway's refund id when the event names
exactly that refund, else under "<charge id>@<cumulative amount>", which is unique too.
Its fee refund is the one the gateway made: the application fee's `amount_refunded`, read
when the event was checked (application/payment_events/fee_facts.py), less what the booking
already counts; a refund that kept the fee gives none back.

Stripe does not keep order, so such an event can name a payment no booking has yet (its
checkout's completion is still on its way). It is parked under the payment
(application/payment_events/aftermath.py) and, once a booking is paid with it, checked
against the gateway's facts like a direct event and applied
(application/payment_events/parked.py).
"""

from __future__ import annotations

from application.disputes import record_dispute_event
from application.ports.gateway_events import (
    ApplicationFeeRefunded,
    ChargeRefunded,
    DisputeEvent,
    PaymentAftermath,
)
from application.ports.unit_of_work import UnitOfWork
from domain.booking import Booking
from domain.cancellation import RefundSplit, partial_refund
from domain.dispute import DisputeBearer
from domain.errors import DomainError
from domain.events import booking_events
from domain.ledger import customer_refund_entry, fee_refund_entries, reported_fee_refund
from domain.money import Money


async def record_payment_made_elsewhere(
    uow: UnitOfWork,
    booking: Booking,
    event: PaymentAftermath,
    bearer: DisputeBearer = DisputeBearer.TENANT,
) -> tuple[Booking, bool]:
    """Record on the booking paid with the event's payment what the event tells.

    The booking as saved, and True when it changed something; a replayed or stale event
    changes nothing.
    """
    updated, changed = await _apply(uow, booking, event, bearer)
    if updated is not booking:
        await uow.bookings.update(updated)
        uow.outbox.add(*booking_events(booking, updated))
    return updated, changed


async def _apply(
    uow: UnitOfWork, booking: Booking, event: PaymentAftermath, bearer: DisputeBearer
) -> tuple[Booking, bool]:
    if isinstance(event, DisputeEvent):
        recorded = await record_dispute_event(uow, booking, event, bearer)
        return recorded.booking, recorded.changed
    if isinstance(event, ApplicationFeeRefunded):
        return booking, await _record_fee_refund(uow, booking, event)
    refunded = await _record_refund(uow, booking, event)
    return refunded, refunded is not booking


async def _record_refund(uow: UnitOfWork, booking: Booking, event: ChargeRefunded) -> Booking:
    if not booking.is_paid or event.amount_refunded.currency != booking.currency:
        return booking
    refunded = _with_refund_made_elsewhere(booking, event)
    at = event.created_at
    if refunded is not booking:
        (refund,) = (r for r in refunded.refunds if r not in booking.refunds)
        await uow.ledger.add(
            customer_refund_entry(refunded, refund.refund_id, refund.split.customer_refund, at)
        )
    # The fee refunds Stripe made, Bookpay's own refunds' included, up to what it reports;
    # while a refund of Bookpay's is unconfirmed its settlement books them (nothing shows
    # as given back before the refund does).
    if refunded.unknown_refunds:
        return refunded
    entries = await uow.ledger.list_for_booking(booking.tenant_id, booking.id)
    payment = booking.payment_intent_id or event.charge_id
    for entry in fee_refund_entries(refunded, payment, event.fee_refunded, entries, at):
        await uow.ledger.add(entry)
    return refunded


async def _record_fee_refund(
    uow: UnitOfWork, booking: Booking, event: ApplicationFeeRefunded
) -> bool:
    """Bring the booking's fee refunds up to what the fee reports it gave back in all;
    True when an entry was booked. While a refund of Bookpay's is unconfirmed its
    settlement books them (nothing shows as given back before the refund does)."""
    if not booking.is_paid or booking.unknown_refunds:
        return False
    if event.amount_refunded.currency != booking.currency:
        return False
    entries = await uow.ledger.list_for_booking(booking.tenant_id, booking.id)
    payment = booking.payment_intent_id or event.charge_id
    booked = False
    for entry in fee_refund_entries(
        booking, payment, event.amount_refunded, entries, event.created_at
    ):
        booked = await uow.ledger.add(entry) or booked
    return booked


def _with_refund_made_elsewhere(booking: Booking, event: ChargeRefunded) -> Booking:
    """The booking with the refund the event reports beyond what the booking counts."""
    counted = booking.refunded_or_reserved.customer_refund.amount
    difference = event.amount_refunded.amount - counted
    if difference <= 0:
        return booking
    amount = Money(difference, booking.currency)
    already = booking.refunded_or_reserved
    try:
        partial_refund(booking.quote, amount, booking.refund_on_cancel, already)
        # The fee refund is the one the gateway made (none when the refund kept the fee),
        # never the policy's share of the amount.
        fee_back = reported_fee_refund(
            booking.quote.application_fee, already.application_fee_refund, event.fee_refunded
        )
        split = RefundSplit(amount, min(fee_back, amount))
        return booking.record_refund(_refund_id(booking, event, amount), split)
    except DomainError:
        # More than the booking can still give back (e.g. a reservation Bookpay released
        # after the gateway refunded anyway): left to reconciliation, never guessed.
        return booking


def _refund_id(booking: Booking, event: ChargeRefunded, amount: Money) -> str:
    known = {refund.refund_id for refund in booking.refunds}
    unknown = [record for record in event.refunds if record.refund_id not in known]
    if len(unknown) == 1 and unknown[0].amount == amount:
        return unknown[0].refund_id
    return f"{event.charge_id}@{event.amount_refunded.amount}"
