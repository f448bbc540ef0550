"""`checkout.session.async_payment_succeeded`: the delayed payment arrived → confirmed."""

from __future__ import annotations

from application.payment_events.bookings import apply_to_session_booking
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.payment_events.payment import take_payment
from application.ports.gateway_events import AsyncPaymentSucceeded
from domain.booking import Booking
from domain.payment import Decision


async def async_payment_succeeded(ctx: EventContext, event: AsyncPaymentSucceeded) -> EventApplied:
    async def decide(ctx: EventContext, booking: Booking) -> Decision:
        return await take_payment(ctx, booking, event.payment_intent_id or event.session_id)

    return await apply_to_session_booking(ctx, event.session_id, decide)
