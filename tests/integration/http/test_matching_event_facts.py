"""Signed, matching and still false (issue 12, "every money event checked with Stripe").

A correctly signed event that matches a booking (the right account, the booking's real
charge, the right amount) is still checked against Stripe's objects: the refunds and
disputes of the payment as the gateway shows it decide what a refund or dispute event
applies, and a checkout completion confirms only a session the gateway reports paid with
a payment intent. An event the gateway contradicts changes nothing (acknowledged,
`ignored`). Through HTTP with the fake gateway (destination charges, platform endpoint),
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.stripe_wire import signature as stripe_signature
from application.ports.gateway import WebhookEndpoint
from tests.support.gateway_doubles import PaymentsUnreadable
from tests.support.http_app import WEBHOOK_SECRET
from tests.support.http_flows import open_checkout, paid_booking
from tests.support.webhook_shop import PAID, Shop, shop_on, stripe_event
from tests.support.webhook_shop import charge_refunded as _refunded
from tests.support.webhook_shop import dispute_created as _disputed

PLATFORM = WebhookEndpoint.PLATFORM


@pytest.fixture
def shop(webhook_shop: Shop) -> Shop:
    return webhook_shop


async def _paid(shop: Shop) -> tuple[dict[str, str], str, str, str]:
    """A paid 42.30 USD booking: the tenant, the booking, its payment and its real charge."""
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    async def charge() -> str:
        return str((await shop.container.gateway().retrieve_payment(payment)).charge_id)

    return tenant, booking_id, payment, await shop.in_app(charge)


def _dispute_event(
    kind: str, payment: str, dispute_id: str, charge: str, status: str
) -> dict[str, Any]:
    event: dict[str, Any] = _disputed(payment, dispute_id, None, charge)
    forged: dict[str, Any] = stripe_event(kind, {**event["data"]["object"], "status": status}, None)
    return forged


async def test_a_replayed_refund_raised_to_the_total_books_only_what_stripe_refunded(
    shop: Shop,
) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)
    assert (await shop.refund(tenant, booking_id, 1000)).status_code == 201

    answer = await shop.post_event(_refunded(payment, 4230, None, charge), PLATFORM)

    assert answer["outcome"] in ("applied", "ignored")
    ledger = await shop.ledger(tenant, booking_id)
    assert sum(amount for kind, amount in ledger if kind == "refund") == 1000
    booking = await shop.booking(tenant, booking_id)
    assert booking["refunded"]["amount"] == 1000
    rest = await shop.refund(tenant, booking_id, 3230)
    assert rest.status_code == 201, rest.text


async def test_a_refund_of_the_real_charge_stripe_never_made_refunds_nothing(
    shop: Shop,
) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)

    answer = await shop.post_event(_refunded(payment, 4230, None, charge), PLATFORM)

    assert answer["outcome"] == "ignored"
    assert await shop.ledger(tenant, booking_id) == PAID
    assert (await shop.booking(tenant, booking_id))["payment_status"] == "paid"
    assert (await shop.refund(tenant, booking_id, 4230)).status_code == 201


async def test_a_made_up_dispute_of_the_real_charge_blocks_nothing(shop: Shop) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)

    answer = await shop.post_event(_disputed(payment, "dp_made_up", None, charge), PLATFORM)

    assert answer["outcome"] == "ignored"
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_status"] == "paid"
    assert booking["disputes"] == []
    assert (await shop.refund(tenant, booking_id, 1000)).status_code == 201


async def test_a_dispute_closed_as_won_while_stripe_awaits_a_response_stays_open(
    shop: Shop,
) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    dispute_id = opened["dispute_id"]

    await shop.post_event(
        _dispute_event("charge.dispute.closed", payment, dispute_id, charge, "won"), PLATFORM
    )

    booking = await shop.booking(tenant, booking_id)
    assert [(d["id"], d["status"]) for d in booking["disputes"]] == [(dispute_id, "needs_response")]
    assert booking["payment_status"] == "disputed"


async def test_forged_funds_reinstated_add_no_dispute_reversal(shop: Shop) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    before = await shop.ledger(tenant, booking_id)

    await shop.post_event(
        _dispute_event(
            "charge.dispute.funds_reinstated", payment, opened["dispute_id"], charge, "won"
        ),
        PLATFORM,
    )

    after = await shop.ledger(tenant, booking_id)
    assert "dispute_reversal" not in [kind for kind, _ in after]
    assert after == before


async def test_a_completion_of_an_unpaid_session_without_payment_confirms_nothing(
    shop: Shop,
) -> None:
    tenant, checkout = await open_checkout(shop.client)
    booking_id = checkout["booking_id"]
    session_id = checkout["checkout_url"].rstrip("/").rsplit("/", 1)[-1]
    event = stripe_event(
        "checkout.session.completed",
        {
            "id": session_id,
            "object": "checkout.session",
            "client_reference_id": booking_id,
            "metadata": {"booking_id": booking_id},
            "amount_total": 4230,
            "currency": "usd",
            "payment_status": "paid",
            "payment_intent": None,
            "status": "complete",
        },
        None,
    )

    answer = await shop.post_event(event, PLATFORM)

    assert answer["outcome"] == "ignored"
    booking = await shop.booking(tenant, booking_id)
    assert booking["status"] != "confirmed"
    assert await shop.ledger(tenant, booking_id) == []


async def test_a_matching_refund_event_waits_for_stripe_when_it_cannot_be_asked(
    webhook_database_url: str | None, tmp_path: Path
) -> None:
    async with shop_on(webhook_database_url, tmp_path, PaymentsUnreadable) as shop:
        link: PaymentsUnreadable = shop.container.gateway()
        tenant, booking_id, payment, charge = await _paid(shop)
        shop.lost |= {"charge.refunded", "application_fee.refunded"}
        await shop.dashboard(
            f"payments/{payment}/refund", {"amount": 1000, "refund_application_fee": False}
        )
        event = _refunded(payment, 1000, None, charge)
        body = json.dumps(event).encode()
        link.down = True

        answer = await shop.client.post(
            "/v1/webhooks/stripe",
            content=body,
            headers={
                "Stripe-Signature": stripe_signature.sign(body, WEBHOOK_SECRET, datetime.now(UTC)),
                "Content-Type": "application/json",
            },
        )

        assert answer.status_code == 503, answer.text  # Stripe redelivers
        assert await shop.ledger(tenant, booking_id) == PAID
        link.down = False
        redelivered = await shop.post_event(event, PLATFORM)
        assert redelivered["outcome"] == "applied"
        assert await shop.ledger(tenant, booking_id) == sorted([*PAID, ("refund", 1000)])
