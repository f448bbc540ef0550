"""`charge.refunded`: a refund of the charge, Bookpay's own or one made elsewhere."""

from __future__ import annotations

from application.payment_events.aftermath import record_or_park
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import ChargeRefunded


async def charge_refunded(ctx: EventContext, event: ChargeRefunded) -> EventApplied:
    return await record_or_park(ctx, event)
