"""`application_fee.refunded`: the platform's fee on a charge gave money back; the ledger's
fee refunds become what Stripe reports, once, whatever the order with `charge.refunded`."""

from __future__ import annotations

from application.payment_events.aftermath import record_or_park
from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import ApplicationFeeRefunded


async def application_fee_refunded(
    ctx: EventContext, event: ApplicationFeeRefunded
) -> EventApplied:
    return await record_or_park(ctx, event)
