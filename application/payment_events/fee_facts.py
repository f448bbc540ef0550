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
from application.ports.gateway_events import ApplicationFeeRefunded, ChargeRefunded
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


async def with_fee_payment(
    event: ApplicationFeeRefunded, uow: UnitOfWorkFactory, gateway: PaymentGateway
) -> ApplicationFeeRefunded:
    """The event with the payment its fee's charge belongs to, asked of the gateway where
    the charge lives (the connected account that paid the fee, for a direct charge).

    Unchanged when it names its payment already, or when no tenant has the fee's account
    or the gateway knows no such charge (it changes nothing then). GatewayUnavailable (or
    GatewayRateLimited) when the gateway could not be asked: the redelivery tries again.
    """
    if event.payment_intent_id is not None or event.fee_account_id is None:
        return event
    async with uow() as reading:
        tenant = await reading.tenants.find_by_account_id(event.fee_account_id)
    if tenant is None:
        return event
    try:
        payment = await gateway.retrieve_payment(
            event.charge_id, account_id=tenant.charge_account_id
        )
    except GatewayInvalidRequest as refused:
        log.warning("event %s: charge %s not found: %s", event.event_id, event.charge_id, refused)
        return event
    return replace(event, payment_intent_id=payment.payment_intent_id)
