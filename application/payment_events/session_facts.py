"""A checkout session event is checked against the session the gateway shows before it is
applied.

A valid signature proves the sender, not the facts, and a forged or replayed event can
match its booking (account, amount, currency) and still lie about what happened. So every
session event about a booking is checked against the session fetched from the gateway,
from the account the booking's charge lives on (Stripe's advice: fetch the object the
event names), and the fetched session decides:

- an expiry applies only to a session the gateway reports expired;
- a completion or a delayed payment's success confirms only a complete, paid session with
  a payment intent, and a delayed success only with the payment intent it names;
- a delayed payment's failure applies only to a complete, unpaid session whose payment
  intent failed (`requires_payment_method` or `canceled`). The session alone cannot tell:
  a delayed payment still on its way (a voucher not yet paid at the store, a bank debit)
  leaves it complete and unpaid too, its intent `processing` or `requires_action`.

When the fetched session amounts to another event (complete and paid while the event says
expired, expired while it says failed, a payment on its way while it says failed, a failed
payment while it says completed), it is turned into that event under the same event id and
applied as such. A session still open, or one that contradicts the booking too,
changes nothing (Refuted, acknowledged `ignored`); when the gateway cannot be asked,
nothing is applied and the gateway's redelivery tries again. An event naming no booking
is returned as sent: it finds no booking to change.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TypedDict

from application.errors import GatewayError, GatewayRateLimited, GatewayUnavailable
from application.payment_events.checks import GatewayStep, as_sent
from application.ports.gateway import CheckoutSession, PaymentGateway, PaymentStatus, SessionStatus
from application.ports.gateway_events import (
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    CheckoutCompleted,
    CheckoutExpired,
    CheckoutSessionEvent,
)
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from domain.booking import Booking
from domain.money import Money
from domain.payment import contradiction
from domain.tenant import Tenant

log = logging.getLogger("bookpay.payments")


class Refuted(Exception):
    """The event contradicts its booking or the gateway's facts, which do not back it."""


async def checked_session_event(event: CheckoutSessionEvent, reading: UnitOfWork) -> GatewayStep:
    """Reads the booking the event's session belongs to, and its tenant, in `reading`; the
    gateway step gives the event to apply: the one the session fetched from the gateway
    amounts to (this one when the session backs it); the event as sent when it names no
    booking (nothing is asked then).

    The step raises Refuted when the fetched session does not back it (still open,
    contradicting the booking, paid without a payment intent or with another one than the
    event names); GatewayUnavailable (or GatewayRateLimited) when the session could not be
    fetched: nothing is applied, the gateway's redelivery tries again.
    """
    booking = await reading.bookings.find_by_gateway_session(event.session_id)
    tenant = None if booking is None else await reading.tenants.get(booking.tenant_id)
    if booking is None or tenant is None:
        return as_sent(event)

    async def ask_gateway(gateway: PaymentGateway, _uow: UnitOfWorkFactory) -> CheckoutSessionEvent:
        return await _backed_by_session(event, booking, tenant, gateway)

    return ask_gateway


async def _backed_by_session(
    event: CheckoutSessionEvent, booking: Booking, tenant: Tenant, gateway: PaymentGateway
) -> CheckoutSessionEvent:
    why = contradiction(booking, tenant, event.account_id, event.amount_total)
    if why is None:
        why = f"{type(event).__name__} is checked with the gateway"
    else:
        log.warning(
            "event %s about booking %s is not taken on its word: %s",
            event.event_id,
            booking.id,
            why,
        )
    try:
        session = await gateway.retrieve_checkout_session(
            event.session_id, account_id=tenant.charge_account_id
        )
    except (GatewayUnavailable, GatewayRateLimited):
        raise
    except GatewayError as error:
        raise Refuted(f"{why}; the gateway does not know the session: {error}") from None
    fetched = _as_event(event, session, tenant.charge_account_id)
    if fetched is None:
        raise Refuted(f"{why}; the gateway's session is still {session.status}")
    paid_with = _paid_with(fetched)
    if paid_with is not None and not paid_with:
        raise Refuted(f"{why}; the gateway's session is paid without a payment intent")
    named = event.payment_intent_id if isinstance(event, AsyncPaymentSucceeded) else None
    if named is not None and paid_with is not None and named != paid_with:
        raise Refuted(f"{why}; the gateway's session is paid with {paid_with}, not {named}")
    still = contradiction(booking, tenant, fetched.account_id, fetched.amount_total)
    if still is not None:
        raise Refuted(f"{why}; the gateway's session too: {still}")
    return fetched


def _paid_with(event: CheckoutSessionEvent) -> str | None:
    """The payment intent a paying event names ("" when it names none); None when the
    event pays nothing."""
    if isinstance(event, AsyncPaymentSucceeded) or (
        isinstance(event, CheckoutCompleted) and event.paid
    ):
        return event.payment_intent_id or ""
    return None


class _SessionFacts(TypedDict):
    event_id: str
    created_at: datetime
    account_id: str | None
    session_id: str
    booking_id: str | None
    amount_total: Money | None


def _as_event(
    event: CheckoutSessionEvent, session: CheckoutSession, account_id: str | None
) -> CheckoutSessionEvent | None:
    """The event the session amounts to, kept of the event's own kind when the session
    backs it; None while the session is open (nothing has happened to it yet)."""
    facts = _SessionFacts(
        event_id=event.event_id,
        created_at=event.created_at,
        account_id=account_id,
        session_id=session.session_id,
        booking_id=session.booking_id,
        amount_total=session.amount_total,
    )
    if session.status is SessionStatus.EXPIRED:
        return CheckoutExpired(**facts)
    if session.status is not SessionStatus.COMPLETE:
        return None
    paid = session.payment_status is not PaymentStatus.UNPAID
    if paid and isinstance(event, AsyncPaymentSucceeded):
        return AsyncPaymentSucceeded(**facts, payment_intent_id=session.payment_intent_id)
    intent = session.payment_intent_status
    if not paid and intent is not None and intent.failed:
        return AsyncPaymentFailed(**facts)
    # Unpaid with its payment on the way (or unread: nothing proves it failed) is a
    # completion awaiting its delayed payment.
    return CheckoutCompleted(**facts, paid=paid, payment_intent_id=session.payment_intent_id)
