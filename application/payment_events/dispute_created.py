"""`charge.dispute.created`: the cardholder disputes the charge with their bank; while
Stripe says the charge is not refundable, the booking refuses refunds and cancels."""

from __future__ import annotations

from application.payment_events.aftermath import record_or_park
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import DisputeCreated


async def dispute_created(ctx: EventContext, event: DisputeCreated) -> EventApplied:
    return await record_or_park(ctx, event)
