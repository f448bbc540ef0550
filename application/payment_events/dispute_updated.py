"""`charge.dispute.updated`: the dispute moved on (e.g. evidence submitted, under review)."""

from __future__ import annotations

from application.payment_events.aftermath import record_or_park
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import DisputeUpdated


async def dispute_updated(ctx: EventContext, event: DisputeUpdated) -> EventApplied:
    return await record_or_park(ctx, event)
