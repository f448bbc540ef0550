"""`checkout.session.async_payment_failed`: the delayed payment failed; the seats go back."""

from __future__ import annotations

from application.payment_events.bookings import apply_to_session_booking, carry_out
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import AsyncPaymentFailed
from domain.booking import Booking
from domain.payment import Decision, payment_failed


async def async_payment_failed(ctx: EventContext, event: AsyncPaymentFailed) -> EventApplied:
    async def decide(ctx: EventContext, booking: Booking) -> Decision:
        return await carry_out(ctx.uow, payment_failed(booking))

    return await apply_to_session_booking(ctx, event.session_id, decide)
