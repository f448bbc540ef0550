"""A refund of a charge is booked with the fee refund the gateway made, read from it.

`charge.refunded` tells how much of the charge is refunded, not whether the platform's
application fee came back with it (a refund in Stripe's dashboard may keep the fee). So
before the event is applied, the payment's application fee is read from the gateway and its
`amount_refunded` goes with the event (`ChargeRefunded.fee_refunded`); the ledger books the
difference to what the booking already counts (domain.ledger.reported_fee_refund).
`application_fee.refunded` is read the same way: what the fee has given back is the
gateway's figure, never the event's.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from application.errors import GatewayInvalidRequest
from application.payment_events.session_facts import Refuted
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
    """The event with the payment its fee's charge belongs to and what the fee has given
    back in all, both as the gateway reports them: never the event's own `amount_refunded`,
    even when it names its payment (a charge expanded in the event).

    The payment is asked of the gateway where the charge lives (the connected account that
    paid the fee, for a direct charge) when the event does not name it. Unchanged when no
    tenant has the fee's account, or the gateway knows no such charge (it changes nothing
    then); with its payment but unread when no booking is paid with it yet (it is parked
    and checked here again once one is). Refuted when the gateway knows no charge of the
    booking's payment or shows no fee refund of it. GatewayUnavailable (or
    GatewayRateLimited) when the gateway could not be asked: the redelivery tries again.
    """
    if event.payment_intent_id is None:
        event = await _with_payment(event, uow, gateway)
    payment = event.payment_intent_id
    if payment is None:
        return event
    async with uow() as reading:
        booking = await reading.bookings.find_by_payment_intent(payment)
        tenant = None if booking is None else await reading.tenants.get(booking.tenant_id)
    if booking is None or tenant is None:
        return event
    try:
        fee_refunded = await gateway.application_fee_refunded(
            payment, account_id=tenant.charge_account_id
        )
    except GatewayInvalidRequest as refused:
        raise Refuted(f"the gateway knows no charge of {payment}: {refused}") from None
    if fee_refunded is None or fee_refunded.is_zero:
        raise Refuted(f"the gateway shows no refund of the application fee of {payment}")
    if fee_refunded != event.amount_refunded:
        log.warning(
            "event %s about booking %s is not taken on its word: the fee gave back %s, not %s",
            event.event_id,
            booking.id,
            fee_refunded.amount,
            event.amount_refunded.amount,
        )
    return replace(event, amount_refunded=fee_refunded)


async def _with_payment(
    event: ApplicationFeeRefunded, uow: UnitOfWorkFactory, gateway: PaymentGateway
) -> ApplicationFeeRefunded:
    if event.fee_account_id is None:
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
