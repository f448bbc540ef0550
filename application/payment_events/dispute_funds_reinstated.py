"""`charge.dispute.funds_reinstated`: a won dispute gave the funds back."""

from __future__ import annotations

from application.payment_events.aftermath import record_or_park
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import DisputeFundsReinstated


async def dispute_funds_reinstated(
    ctx: EventContext, event: DisputeFundsReinstated
) -> EventApplied:
    return await record_or_park(ctx, event)
