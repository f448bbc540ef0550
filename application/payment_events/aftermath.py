"""A refund or dispute of a payment: recorded on the booking paid with it, or parked until
that booking's payment is known (application/payments_made_elsewhere.py)."""

from __future__ import annotations

from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied, Outcome
from application.payments_made_elsewhere import record_payment_made_elsewhere
from application.ports.gateway_events import PaymentAftermath
from domain.payment import FollowUp


async def record_or_park(ctx: EventContext, event: PaymentAftermath) -> EventApplied:
    payment = event.payment_intent_id
    if payment is None:
        return EventApplied(Outcome.IGNORED, detail="no payment named")
    booking = await ctx.uow.bookings.find_by_payment_intent(payment)
    if booking is None:
        # Its checkout's completion has not arrived yet: checked and applied once it has
        # (application/payment_events/parked.py).
        await ctx.uow.parked_events.park(payment, event)
        return EventApplied(Outcome.PARKED, detail=f"no booking is paid with {payment} yet")
    updated, changed = await record_payment_made_elsewhere(
        ctx.uow, booking, event, ctx.dispute_bearer
    )
    recover = changed and updated.has_recovery_due
    return EventApplied(
        Outcome.APPLIED if changed else Outcome.IGNORED,
        booking.id,
        "" if changed else "no change: the booking already shows it",
        tenant_id=booking.tenant_id,
        follow_up=FollowUp.RECOVER_LOST_DISPUTE if recover else FollowUp.NONE,
    )
