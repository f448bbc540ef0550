"""The fake Stripe: its hosted pages and the signed Stripe-shaped events its buttons send
(its delivery is in test_fake_gateway_delivery.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from adapters.fake_stripe.pages import CheckoutPage, render_checkout_page
from adapters.stripe.gateway import StripeGateway
from adapters.stripe_wire import signature as stripe_signature
from application.errors import GatewayInvalidRequest, NotFound
from application.ports.gateway import (
    LineItem,
    PaymentStatus,
    SessionStatus,
    WebhookEndpoint,
)
from application.ports.gateway_events import (
    AccountUpdated,
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    ChargeRefunded,
    CheckoutCompleted,
    CheckoutExpired,
    DisputeCreated,
)
from domain.money import Money
from domain.tenant import ChargeModel
from tests.integration.gateway.conftest import PUBLIC_BASE_URL
from tests.integration.gateway.fake_gateway_steps import onboarding_account, open_session
from tests.support.gateway_doubles import FixedClock, WebhookInbox
from tests.support.gateway_requests import (
    WEBHOOK_SECRET,
    refund_request,
)

FORM = re.compile(r'<form method="post" action="([^"]+)">(.*?)</form>', re.S)


def forms(html: str) -> dict[str, str]:
    """Button label → the path its form posts to (with its hidden fields as a query)."""
    found = {}
    for action, inner in FORM.findall(html):
        label = re.search(r"<button[^>]*>(.*?)</button>", inner, re.S)
        fields = re.findall(r'name="([^"]+)" value="([^"]+)"', inner)
        query = "&".join(f"{name}={value}" for name, value in fields)
        assert label is not None
        found[label.group(1)] = f"{action}?{query}" if query else action
    return found


def _event(inbox: WebhookInbox, index: int = -1) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(inbox.deliveries[index].body)
    return event


# --- Hosted pages -----------------------------------------------------------------------------


async def test_the_checkout_page_offers_pay_decline_and_cancel(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)
    base = f"{PUBLIC_BASE_URL}/fake-stripe/checkout/{session.session_id}"

    html = await fake_gateway.checkout_page(session.session_id)

    assert session.url == base
    assert html.startswith("<!DOCTYPE html>")
    assert forms(html) == {
        "Pay": f"{base}/pay?method=card",
        "Decline": f"{base}/decline",
        "Cancel": f"{base}/cancel",
        "Pay with a delayed method": f"{base}/pay?method=delayed",
    }
    assert "Yoga class — 2 Mar 10:00 × 2" in html
    assert "Service fee × 1" in html
    assert "52.50 EUR" in html
    assert "ada@example.com" in html


async def test_a_checkout_awaiting_a_delayed_payment_offers_its_outcomes(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)
    base = f"{PUBLIC_BASE_URL}/fake-stripe/checkout/{session.session_id}"
    await fake_gateway.pay(session.session_id, method="delayed")

    html = await fake_gateway.checkout_page(session.session_id)

    assert forms(html) == {
        "Delayed payment succeeds": f"{base}/pay",
        "Delayed payment fails": f"{base}/decline",
    }


def test_the_checkout_page_escapes_what_it_shows() -> None:
    page = CheckoutPage(
        session_id="cs_1",
        status=SessionStatus.EXPIRED,
        payment_status=PaymentStatus.UNPAID,
        line_items=(LineItem("<script>alert(1)</script>", Money(100, "usd"), 1),),
        amount_total=Money(100, "usd"),
        customer_email='"><b>x',
    )

    html = render_checkout_page(page)

    # The page's one script of its own reloads it from the back/forward cache; the name's
    # script is shown as text.
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x" not in html
    assert "<form" not in html
    assert "expired" in html


async def test_the_onboarding_page_completes_onboarding(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    account_id = await onboarding_account(fake_gateway)
    link = await fake_gateway.create_onboarding_link(
        account_id=account_id,
        refresh_url="https://bookpay.example/refresh",
        return_url="https://bookpay.example/return",
    )

    html = await fake_gateway.onboarding_page(account_id)
    return_url = await fake_gateway.complete_onboarding(account_id)

    assert link.url == f"{PUBLIC_BASE_URL}/fake-stripe/onboarding/{account_id}"
    assert forms(html) == {"Complete onboarding": link.url}
    assert return_url == "https://bookpay.example/return"
    [delivery] = inbox.deliveries
    assert delivery.endpoint is WebhookEndpoint.CONNECT
    event = fake_gateway.parse_webhook(
        delivery.body, delivery.headers["Stripe-Signature"], WebhookEndpoint.CONNECT
    )
    assert isinstance(event, AccountUpdated)
    assert event.account_id == account_id
    assert event.status.can_take_charges
    assert event.status.payouts_enabled
    assert "can already take charges" in await fake_gateway.onboarding_page(account_id)


# --- Clicking the buttons ---------------------------------------------------------------------


async def test_paying_sends_a_signed_event_that_the_stripe_verifier_accepts(
    fake_gateway: FakeGateway,
    stripe_gateway: StripeGateway,
    inbox: WebhookInbox,
    clock: FixedClock,
) -> None:
    session = await open_session(fake_gateway, inbox, clock)
    buttons = forms(await fake_gateway.checkout_page(session.session_id))
    page = f"{PUBLIC_BASE_URL}/fake-stripe/checkout/{session.session_id}"
    assert buttons["Pay"] == f"{page}/pay?method=card"
    assert buttons["Decline"] == f"{page}/decline"
    assert buttons["Cancel"] == f"{page}/cancel"

    outcome = await fake_gateway.pay(session.session_id, method="card")

    assert outcome.redirect_url == "https://shop.example/bookings/bk_0001/thanks"
    [delivery] = inbox.deliveries
    assert delivery.endpoint is WebhookEndpoint.PLATFORM
    signature = delivery.headers["Stripe-Signature"]
    assert stripe_signature.verify(delivery.body, signature, WEBHOOK_SECRET, now=clock())
    event = stripe_gateway.parse_webhook(delivery.body, signature, WebhookEndpoint.PLATFORM)
    assert isinstance(event, CheckoutCompleted)
    assert event.paid
    assert event.session_id == session.session_id
    assert event.booking_id == "bk_0001"
    assert event.amount_total == Money(5250, "eur")
    assert event.payment_intent_id == outcome.session.payment_intent_id
    assert event.account_id is None
    assert outcome.session.status is SessionStatus.COMPLETE
    assert outcome.session.payment_status is PaymentStatus.PAID


async def test_a_direct_charge_event_comes_from_the_connected_account(
    fake_gateway: FakeGateway, stripe_gateway: StripeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock, ChargeModel.DIRECT)

    await fake_gateway.pay(session.session_id)

    [delivery] = inbox.deliveries
    assert delivery.endpoint is WebhookEndpoint.CONNECT
    assert _event(inbox)["account"] == session.account_id
    event = stripe_gateway.parse_webhook(
        delivery.body, delivery.headers["Stripe-Signature"], WebhookEndpoint.CONNECT
    )
    assert isinstance(event, CheckoutCompleted)
    assert event.account_id == session.account_id
    with pytest.raises(Exception, match="signature"):
        stripe_gateway.parse_webhook(
            delivery.body, delivery.headers["Stripe-Signature"], WebhookEndpoint.PLATFORM
        )


def _translated(fake: FakeGateway, inbox: WebhookInbox) -> list[object]:
    return [
        fake.parse_webhook(d.body, d.headers["Stripe-Signature"], d.endpoint)
        for d in inbox.deliveries
    ]


async def test_a_delayed_payment_that_succeeds(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)

    started = await fake_gateway.pay(session.session_id, method="delayed")
    settled = await fake_gateway.pay(session.session_id)

    completed, succeeded = _translated(fake_gateway, inbox)
    assert isinstance(completed, CheckoutCompleted)
    assert not completed.paid
    assert started.session.payment_status is PaymentStatus.UNPAID
    assert isinstance(succeeded, AsyncPaymentSucceeded)
    assert succeeded.payment_intent_id == completed.payment_intent_id
    assert succeeded.booking_id == "bk_0001"
    assert settled.session.payment_status is PaymentStatus.PAID


async def test_a_delayed_payment_that_fails(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)

    await fake_gateway.start_delayed_payment(session.session_id)
    await fake_gateway.fail_delayed_payment(session.session_id)

    completed, failed = _translated(fake_gateway, inbox)
    assert isinstance(completed, CheckoutCompleted)
    assert not completed.paid
    assert isinstance(failed, AsyncPaymentFailed)
    assert failed.session_id == session.session_id
    html = await fake_gateway.checkout_page(session.session_id)
    assert "payment failed" in html
    assert forms(html) == {}
    with pytest.raises(GatewayInvalidRequest):
        await fake_gateway.fail_delayed_payment(session.session_id)


async def test_declining_is_the_async_payment_failure_path(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)

    await fake_gateway.decline(session.session_id)

    assert inbox.event_types() == [
        "checkout.session.completed",
        "checkout.session.async_payment_failed",
    ]
    assert _event(inbox, 0)["data"]["object"]["payment_status"] == "unpaid"
    with pytest.raises(GatewayInvalidRequest):
        await fake_gateway.pay(session.session_id)


async def test_cancelling_leaves_the_session_open_and_sends_nothing(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)

    outcome = await fake_gateway.cancel(session.session_id)

    assert outcome.redirect_url == "https://shop.example/bookings/bk_0001/cancelled"
    assert outcome.session.status is SessionStatus.OPEN
    assert inbox.deliveries == []
    await fake_gateway.pay(session.session_id)
    assert inbox.event_types() == ["checkout.session.completed"]


async def test_expiring_sends_checkout_session_expired(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)

    expired = await fake_gateway.expire(session.session_id)

    assert expired.status is SessionStatus.EXPIRED
    [event] = _translated(fake_gateway, inbox)
    assert isinstance(event, CheckoutExpired)
    assert event.booking_id == "bk_0001"
    with pytest.raises(GatewayInvalidRequest):
        await fake_gateway.pay(session.session_id)


async def test_a_session_past_its_expiry_cannot_be_paid(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)
    clock.advance(minutes=31)

    with pytest.raises(GatewayInvalidRequest):
        await fake_gateway.pay(session.session_id)

    assert inbox.event_types() == ["checkout.session.expired"]
    assert (await fake_gateway.retrieve_checkout_session(session.session_id)).status is (
        SessionStatus.EXPIRED
    )


async def test_an_unknown_session_page_is_not_found(fake_gateway: FakeGateway) -> None:
    with pytest.raises(NotFound):
        await fake_gateway.checkout_page("cs_test_nope")


async def test_refunds_send_charge_refunded_with_the_amount_refunded_so_far(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)
    paid = await fake_gateway.pay(session.session_id)
    intent = paid.session.payment_intent_id
    assert intent is not None

    first = await fake_gateway.refund(refund_request(intent, 2000))
    second = await fake_gateway.refund(refund_request(intent, 3250, idempotency_key="r-2"))

    partly, fully = [e for e in _translated(fake_gateway, inbox) if isinstance(e, ChargeRefunded)]
    assert isinstance(partly, ChargeRefunded)
    assert partly.amount_refunded == Money(2000, "eur")
    assert isinstance(fully, ChargeRefunded)
    assert fully.payment_intent_id == intent
    assert fully.amount_refunded == Money(5250, "eur")
    # As API version 2023-08-16 sends it: the refunds list only when expanded.
    assert fully.refunds == ()
    assert first.refund_id != second.refund_id


async def test_a_dispute_sends_charge_dispute_created(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)
    intent = (await fake_gateway.pay(session.session_id)).session.payment_intent_id
    assert intent is not None

    dispute_id = await fake_gateway.open_dispute(intent, reason="fraudulent")

    [event] = [e for e in _translated(fake_gateway, inbox) if isinstance(e, DisputeCreated)]
    assert isinstance(event, DisputeCreated)
    assert event.dispute_id == dispute_id
    assert event.payment_intent_id == intent
    assert event.amount == Money(5250, "eur")
    assert event.reason == "fraudulent"
