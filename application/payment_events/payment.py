"""A booking's payment succeeded: confirm it, or give the money back when it came too late."""

from __future__ import annotations

from dataclasses import replace

from application.payment_events.bookings import move_seats
from application.payment_events.context import EventContext
from domain.booking import Booking
from domain.ledger import payment_entries
from domain.payment import (
    PAID_AFTER_START,
    Decision,
    FollowUp,
    payment_succeeded,
    seats_sold_meanwhile,
)


async def take_payment(ctx: EventContext, booking: Booking, payment_ref: str) -> Decision:
    """Record the payment once (its ledger entries).

    A payment after the hold lapsed books the seats again if they still fit; otherwise, or
    when the slot had already started, the booking is recorded as paid and cancelled, and
    the decision says to refund it in full. Refunds and disputes parked for the payment are
    checked and applied once this transaction committed (application/payment_events/parked.py).
    """
    now = ctx.clock.now()
    decision = payment_succeeded(booking, payment_ref, now)
    if not decision.changed:
        return decision
    seats_taken = await move_seats(ctx.uow, decision)
    await ctx.uow.ledger.add_all(payment_entries(decision.booking, payment_ref, now))
    if decision.follow_up is FollowUp.REFUND_IN_FULL:  # the slot had started
        return replace(seats_sold_meanwhile(decision.booking, PAID_AFTER_START), before=booking)
    if seats_taken:
        return decision
    return replace(seats_sold_meanwhile(decision.booking), before=booking)
