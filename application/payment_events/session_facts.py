"""A checkout session event is checked against its booking before it is applied.

A valid signature proves the sender, not the facts. When the event's account or amount
(currency included) contradicts the booking it names, the session is fetched from the
gateway, from the account the booking's charge lives on, and the fetched session decides:
it is turned into the event it amounts to (completed paid or unpaid, expired) under the
same event id, and checked again; a session still open, or one that contradicts the
booking too, changes nothing. A completion is never taken on its word, even when its
facts match: it confirms (or starts awaiting) a payment, so the fetched session decides,
and one it reports paid must name its payment intent (Stripe's advice: fetch the object
the event names).
"""

from __future__ import annotations

import logging

from application.errors import GatewayError, GatewayRateLimited, GatewayUnavailable
from application.ports.gateway import CheckoutSession, PaymentGateway, PaymentStatus, SessionStatus
from application.ports.gateway_events import (
    CheckoutCompleted,
    CheckoutExpired,
    CheckoutSessionEvent,
)
from application.uow import UnitOfWorkFactory
from domain.payment import contradiction

log = logging.getLogger("bookpay.payments")


class Refuted(Exception):
    """The event contradicts its booking and the gateway does not back it."""


async def checked_session_event(
    event: CheckoutSessionEvent, uow: UnitOfWorkFactory, gateway: PaymentGateway
) -> CheckoutSessionEvent:
    """The event to apply: this one when its facts match its booking and it is no
    completion (or it names no booking), else the one the fetched session amounts to.

    Refuted when the fetched session does not back it (still open, contradicting the
    booking, or paid without a payment intent); GatewayUnavailable (or GatewayRateLimited) when the
    session could not be fetched: nothing is applied, the gateway's redelivery tries again.
    """
    async with uow() as reading:
        booking = await reading.bookings.find_by_gateway_session(event.session_id)
        tenant = None if booking is None else await reading.tenants.get(booking.tenant_id)
    if booking is None or tenant is None:
        return event
    why = contradiction(booking, tenant, event.account_id, event.amount_total)
    if why is None and not isinstance(event, CheckoutCompleted):
        return event
    if why is None:
        why = "a completion is confirmed by the gateway's session"
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
    if isinstance(fetched, CheckoutCompleted) and fetched.paid and not fetched.payment_intent_id:
        raise Refuted(f"{why}; the gateway's session is paid without a payment intent")
    still = contradiction(booking, tenant, fetched.account_id, fetched.amount_total)
    if still is not None:
        raise Refuted(f"{why}; the gateway's session too: {still}")
    return fetched


def _as_event(
    event: CheckoutSessionEvent, session: CheckoutSession, account_id: str | None
) -> CheckoutSessionEvent | None:
    if session.status is SessionStatus.COMPLETE:
        return CheckoutCompleted(
            event_id=event.event_id,
            created_at=event.created_at,
            account_id=account_id,
            session_id=session.session_id,
            booking_id=session.booking_id,
            amount_total=session.amount_total,
            paid=session.payment_status is not PaymentStatus.UNPAID,
            payment_intent_id=session.payment_intent_id,
        )
    if session.status is SessionStatus.EXPIRED:
        return CheckoutExpired(
            event_id=event.event_id,
            created_at=event.created_at,
            account_id=account_id,
            session_id=session.session_id,
            booking_id=session.booking_id,
            amount_total=session.amount_total,
        )
    return None
