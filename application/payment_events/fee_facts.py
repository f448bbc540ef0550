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
from application.payment_events.checks import GatewayStep, as_sent, paid_with
from application.payment_events.session_facts import Refuted
from application.ports.gateway import PaymentGateway
from application.ports.gateway_events import ApplicationFeeRefunded, ChargeRefunded, PaymentEvent
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from domain.booking import Booking
from domain.tenant import Tenant

log = logging.getLogger("bookpay.payments")


async def with_fee_refunded(event: ChargeRefunded, gateway: PaymentGateway) -> ChargeRefunded:
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


async def with_fee_payment(event: ApplicationFeeRefunded, reading: UnitOfWork) -> GatewayStep:
    """Reads the booking paid with the event's payment (or, when the event does not name
    it, the tenant that has the fee's account) in `reading`; the gateway step gives the
    event with the payment its fee's charge belongs to and what the fee has given back in
    all, both as the gateway reports them: never the event's own `amount_refunded`, even
    when it names its payment (a charge expanded in the event).

    The payment is asked of the gateway where the charge lives (the connected account that
    paid the fee, for a direct charge) when the event does not name it; the booking paid
    with it is then read in a unit of its own, after that answer. As sent when no tenant
    has the fee's account; unchanged when the gateway knows no such charge (it changes
    nothing then); with its payment but unread when no booking is paid with it yet (it is
    parked and checked here again once one is). The step raises Refuted when the gateway
    knows no charge of the booking's payment or shows no fee refund of it;
    GatewayUnavailable (or GatewayRateLimited) when the gateway could not be asked: the
    redelivery tries again.
    """
    payment = event.payment_intent_id
    if payment is not None:
        paid = await paid_with(reading, payment)
        if paid is None:
            return as_sent(event)
        booking, tenant = paid

        async def ask_gateway(gateway: PaymentGateway, _uow: UnitOfWorkFactory) -> PaymentEvent:
            return await _fee_as_reported(event, payment, booking, tenant, gateway)

        return ask_gateway
    if event.fee_account_id is None:
        return as_sent(event)
    payer = await reading.tenants.find_by_account_id(event.fee_account_id)
    if payer is None:
        return as_sent(event)

    async def ask_gateway_for_payment(
        gateway: PaymentGateway, uow: UnitOfWorkFactory
    ) -> PaymentEvent:
        found = await _with_payment(event, payer, gateway)
        named = found.payment_intent_id
        if named is None:
            return found
        async with uow() as reading_again:
            paid = await paid_with(reading_again, named)
        return found if paid is None else await _fee_as_reported(found, named, *paid, gateway)

    return ask_gateway_for_payment


async def _fee_as_reported(
    event: ApplicationFeeRefunded,
    payment: str,
    booking: Booking,
    tenant: Tenant,
    gateway: PaymentGateway,
) -> ApplicationFeeRefunded:
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
    event: ApplicationFeeRefunded, payer: Tenant, gateway: PaymentGateway
) -> ApplicationFeeRefunded:
    try:
        payment = await gateway.retrieve_payment(
            event.charge_id, account_id=payer.charge_account_id
        )
    except GatewayInvalidRequest as refused:
        log.warning("event %s: charge %s not found: %s", event.event_id, event.charge_id, refused)
        return event
    return replace(event, payment_intent_id=payment.payment_intent_id)
