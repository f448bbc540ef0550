"""`checkout.session.expired`: abandoned unpaid; the held seats go back on sale."""

from __future__ import annotations

from application.payment_events.bookings import apply_to_session_booking, carry_out
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import CheckoutExpired
from domain.booking import Booking
from domain.payment import Decision, checkout_expired


async def checkout_session_expired(ctx: EventContext, event: CheckoutExpired) -> EventApplied:
    async def decide(ctx: EventContext, booking: Booking) -> Decision:
        return await carry_out(ctx.uow, checkout_expired(booking))

    return await apply_to_session_booking(ctx, event.session_id, decide)
