"""`checkout.session.completed`: paid → confirmed; unpaid (a delayed method) → awaiting it."""

from __future__ import annotations

from application.payment_events.bookings import apply_to_session_booking, carry_out
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.payment_events.payment import take_payment
from application.ports.gateway_events import CheckoutCompleted
from domain.booking import Booking
from domain.payment import Decision, payment_delayed


async def checkout_completed(ctx: EventContext, event: CheckoutCompleted) -> EventApplied:
    async def decide(ctx: EventContext, booking: Booking) -> Decision:
        if not event.paid:
            return await carry_out(ctx.uow, payment_delayed(booking))
        return await take_payment(ctx, booking, event.payment_intent_id or event.session_id)

    return await apply_to_session_booking(ctx, event.session_id, decide)
