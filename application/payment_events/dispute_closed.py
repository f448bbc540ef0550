"""`charge.dispute.closed`: won, lost or warning_closed; a lost one the tenant bears is
recovered from it once this transaction committed (application/dispute_recoveries.py)."""

from __future__ import annotations

from application.payment_events.aftermath import record_or_park
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import DisputeClosed


async def dispute_closed(ctx: EventContext, event: DisputeClosed) -> EventApplied:
    return await record_or_park(ctx, event)
