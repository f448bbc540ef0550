"""A refund or dispute event is checked against the booking paid with the payment it names.

A valid signature proves the sender, not the facts: an event naming a booking's payment
could come from another account or name another charge (`ch_forged`). So the payment is
fetched from the gateway, from the account the booking's charge lives on
(PaymentGateway.retrieve_payment), and the fetched charge decides, even for an event from
that account about that charge (a replayed or forged one can still lie about the amount
refunded, or a dispute's id or status): the event is turned into what the gateway shows
(its refunds and fee refund; the dispute it names, as it is now) under the same event id,
and ignored when the gateway shows no refund, or no such dispute. One path for every
event, matching or not (Stripe's advice: fetch the object the event names). An event
about a payment the gateway does not know is ignored, whichever account sent it.

An event about a payment no booking has yet is parked unchecked (its booking's tenant, so
the account to ask, is not known yet) and checked here once a booking is paid with it
(application/payment_events/parked.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from application.errors import GatewayInvalidRequest
from application.payment_events.checks import GatewayStep, as_sent, paid_with
from application.payment_events.fee_facts import with_fee_refunded
from application.payment_events.session_facts import Refuted
from application.ports.gateway import PaymentGateway, PaymentSnapshot
from application.ports.gateway_events import ChargeRefunded, DisputeEvent, RefundRecord
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from domain.booking import Booking
from domain.payment import foreign_account
from domain.tenant import Tenant

log = logging.getLogger("bookpay.payments")

# Refunds the gateway has made (or is making) of a charge; failed and canceled ones are not.
REFUNDS_MADE = frozenset({"succeeded", "pending", "requires_action"})


@dataclass(frozen=True, slots=True)
class _Paid:
    """A payment an event names, the booking paid with it and that booking's tenant."""

    payment_intent_id: str
    booking: Booking
    tenant: Tenant


async def checked_refund(event: ChargeRefunded, reading: UnitOfWork) -> GatewayStep:
    """Reads the booking paid with the payment the event names, and its tenant, in
    `reading`; the gateway step gives the refund event to apply (with the fee refund the
    gateway reports): the gateway's own account of the booking's charge (its
    `amount_refunded` and refunds made), whatever the event says; the event as sent (with
    the fee refund) only when it names no booking's payment.

    The step raises Refuted when the gateway shows no refund of the booking's charge, or
    when the gateway does not know its payment; GatewayUnavailable (or GatewayRateLimited)
    when the charge could not be fetched.
    """
    paid = await _paid_with_named(event, reading)

    async def ask_gateway(gateway: PaymentGateway, _uow: UnitOfWorkFactory) -> ChargeRefunded:
        checked = event if paid is None else await _refund_as_fetched(event, paid, gateway)
        return await with_fee_refunded(checked, gateway)

    return ask_gateway


async def checked_dispute(event: DisputeEvent, reading: UnitOfWork) -> GatewayStep:
    """Reads the booking paid with the payment the event names, and its tenant, in
    `reading`; the gateway step gives the dispute event to apply: the dispute it names as
    the gateway shows it now on the booking's charge (amount, status, refundability,
    balance transactions), whatever the event says. As sent (nothing asked) when it names
    no booking's payment.

    The step raises Refuted when the gateway shows no such dispute on the booking's charge,
    or when the gateway does not know its payment; GatewayUnavailable (or
    GatewayRateLimited) when it could not be asked.
    """
    paid = await _paid_with_named(event, reading)
    if paid is None:
        return as_sent(event)

    async def ask_gateway(gateway: PaymentGateway, _uow: UnitOfWorkFactory) -> DisputeEvent:
        return await _dispute_as_fetched(event, paid, gateway)

    return ask_gateway


async def _refund_as_fetched(
    event: ChargeRefunded, paid: _Paid, gateway: PaymentGateway
) -> ChargeRefunded:
    why, account_id, payment = await _fetched(event, paid, gateway)
    refunds = tuple(
        RefundRecord(r.refund_id, r.amount) for r in payment.refunds if r.status in REFUNDS_MADE
    )
    if not refunds or payment.amount_refunded.is_zero:
        said = why or "it is about a refund"
        raise Refuted(f"{said}; the gateway shows no refund of {payment.charge_id}")
    return replace(
        event,
        account_id=account_id,
        charge_id=payment.charge_id,
        amount_refunded=payment.amount_refunded,
        refunds=refunds,
    )


async def _dispute_as_fetched(
    event: DisputeEvent, paid: _Paid, gateway: PaymentGateway
) -> DisputeEvent:
    why, account_id, payment = await _fetched(event, paid, gateway)
    dispute = next((d for d in payment.disputes if d.dispute_id == event.dispute_id), None)
    if dispute is None:
        said = why or "it is about a dispute"
        raise Refuted(
            f"{said}; the gateway shows no dispute {event.dispute_id} of {payment.charge_id}"
        )
    return replace(
        event,
        account_id=account_id,
        charge_id=payment.charge_id,
        amount=dispute.amount,
        reason=dispute.reason,
        status=dispute.status,
        is_charge_refundable=dispute.is_charge_refundable,
        opened_at=dispute.opened_at,
        balance_transactions=dispute.balance_transactions,
    )


async def _paid_with_named(
    event: ChargeRefunded | DisputeEvent, reading: UnitOfWork
) -> _Paid | None:
    """The payment the event names, the booking paid with it and its tenant; None when the
    event names no booking's payment."""
    payment = event.payment_intent_id
    paid = None if payment is None else await paid_with(reading, payment)
    return None if payment is None or paid is None else _Paid(payment, *paid)


async def _fetched(
    event: ChargeRefunded | DisputeEvent, paid: _Paid, gateway: PaymentGateway
) -> tuple[str | None, str | None, PaymentSnapshot]:
    """Why the event's sender or charge contradicts the booking (None when they match),
    the account the booking's charge lives on and the charge fetched from it, which
    decides either way."""
    booking, tenant = paid.booking, paid.tenant
    account_id = tenant.charge_account_id
    why = foreign_account(tenant, event.account_id)
    try:
        payment = await gateway.retrieve_payment(paid.payment_intent_id, account_id=account_id)
    except GatewayInvalidRequest as refused:
        # Even from the right account: a refund or dispute of a payment the gateway does
        # not know moved no money (acknowledged, so the sender stops retrying).
        said = why or "it is about a payment"
        log.warning("event %s about booking %s is ignored: %s", event.event_id, booking.id, said)
        raise Refuted(f"{said}; the gateway does not know the payment: {refused}") from None
    if why is None and event.charge_id != payment.charge_id:
        why = f"it is about charge {event.charge_id}, not {payment.charge_id}"
    if why is None:
        return None, account_id, payment
    log.warning(
        "event %s about booking %s is not taken on its word: %s", event.event_id, booking.id, why
    )
    return why, account_id, payment
