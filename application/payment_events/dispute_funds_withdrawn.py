"""`charge.dispute.funds_withdrawn`: the disputed amount, and Stripe's fee, left the balance
of whoever owns the charge."""

from __future__ import annotations

from application.payment_events.aftermath import record_or_park
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import DisputeFundsWithdrawn


async def dispute_funds_withdrawn(ctx: EventContext, event: DisputeFundsWithdrawn) -> EventApplied:
    return await record_or_park(ctx, event)
