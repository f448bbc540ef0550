"""A refund of a charge is booked with the fee refund the gateway made, read from it.

`charge.refunded` tells how much of the charge is refunded, not whether the platform's
application fee came back with it (a refund in Stripe's dashboard may keep the fee). So
before the event is applied, the payment's application fee is read from the gateway and its
`amount_refunded` goes with the event (`ChargeRefunded.fee_refunded`); the ledger books the
difference to what the booking already counts (domain.ledger.reported_fee_refund).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from application.errors import GatewayInvalidRequest
from application.ports.gateway import PaymentGateway
from application.ports.gateway_events import ChargeRefunded
from application.uow import UnitOfWorkFactory

log = logging.getLogger("bookpay.payments")


async def with_fee_refunded(
    event: ChargeRefunded, uow: UnitOfWorkFactory, gateway: PaymentGateway
) -> ChargeRefunded:
    """The event with what the payment's application fee has given back in all.

    Unchanged when it names no payment, or when the gateway knows no charge for it (no fee
    refund is booked then: never guessed). GatewayUnavailable (or GatewayRateLimited) when
    the gateway could not be asked: nothing is applied, the gateway's redelivery tries again.
    """
    if event.payment_intent_id is None:
        return event
    try:
        fee_refunded = await gateway.application_fee_refunded(
            event.payment_intent_id, account_id=event.account_id
        )
    except GatewayInvalidRequest as refused:
        log.warning(
            "event %s: the application fee of %s could not be read: %s",
            event.event_id,
            event.payment_intent_id,
            refused,
        )
        return event
    return replace(event, fee_refunded=fee_refunded)
