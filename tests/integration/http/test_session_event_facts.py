"""Signed, matching and still false, continued (issue 12, holes A–F of the fresh review).

Every checkout session event is checked against the session fetched from Stripe: an
expiry applies only to a session Stripe reports expired, a delayed payment's success only
to a complete, paid session with the payment intent the event names, a delayed payment's
failure only to a complete, unpaid session. A fee refund is what Stripe's application fee
reports, even when the event names its payment; a dispute's funds are the balance
transactions Stripe lists; an event that changes nothing does not answer `applied`.
Through HTTP with the fake gateway (destination charges, platform endpoint), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.stripe_wire import signature as stripe_signature
from application.ports.gateway import WebhookEndpoint
from tests.support.gateway_doubles import DisputeFundsUnlisted, SessionsUnreadable
from tests.support.http_app import WEBHOOK_SECRET
from tests.support.http_flows import open_checkout, paid_booking
from tests.support.webhook_shop import PAID, Shop, session_event, shop_on, stripe_event
from tests.support.webhook_shop import dispute_created as _disputed

PLATFORM = WebhookEndpoint.PLATFORM


@pytest.fixture
def shop(webhook_shop: Shop) -> Shop:
    return webhook_shop


async def _open(shop: Shop) -> tuple[dict[str, str], str, str, str]:
    """An unpaid 42.30 USD checkout (a card session still open): the tenant, the booking,
    its session and its checkout page."""
    tenant, checkout = await open_checkout(shop.client)
    url = checkout["checkout_url"]
    return tenant, checkout["booking_id"], url.rstrip("/").rsplit("/", 1)[-1], url


async def _held(shop: Shop, tenant: dict[str, str], booking_id: str) -> None:
    booking = await shop.booking(tenant, booking_id)
    assert booking["status"] == "pending_payment", booking
    assert await shop.ledger(tenant, booking_id) == []


async def _customer_pays(
    shop: Shop, tenant: dict[str, str], booking_id: str, checkout_url: str
) -> None:
    paid = await shop.client.post(
        checkout_url + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    assert (await shop.booking(tenant, booking_id))["status"] == "confirmed"
    assert await shop.ledger(tenant, booking_id) == PAID


async def test_a_delayed_success_of_an_open_card_session_confirms_nothing(shop: Shop) -> None:
    tenant, booking_id, session_id, url = await _open(shop)
    forged = session_event(
        "checkout.session.async_payment_succeeded",
        session_id,
        booking_id,
        payment_status="paid",
        payment_intent="pi_never_paid",
    )

    answer = await shop.post_event(forged, PLATFORM)

    assert answer["outcome"] == "ignored"
    await _held(shop, tenant, booking_id)
    await _customer_pays(shop, tenant, booking_id, url)


async def test_a_delayed_success_stripe_still_awaits_confirms_nothing(shop: Shop) -> None:
    tenant, booking_id, session_id, url = await _open(shop)
    started = await shop.client.post(
        url + "/pay", data={"method": "delayed"}, follow_redirects=False
    )
    assert started.status_code == 303, started.text
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    forged = session_event(
        "checkout.session.async_payment_succeeded",
        session_id,
        booking_id,
        payment_status="paid",
        payment_intent=payment,
    )

    await shop.post_event(forged, PLATFORM)

    booking = await shop.booking(tenant, booking_id)
    assert booking["status"] == "awaiting_async_payment"
    assert await shop.ledger(tenant, booking_id) == []


async def test_a_delayed_success_naming_another_payment_is_ignored(shop: Shop) -> None:
    tenant, booking_id, session_id, url = await _open(shop)
    shop.lost.add("checkout.session.completed")  # Stripe's own report is still on its way
    paid = await shop.client.post(url + "/pay", data={"method": "card"}, follow_redirects=False)
    assert paid.status_code == 303, paid.text
    forged = session_event(
        "checkout.session.async_payment_succeeded",
        session_id,
        booking_id,
        payment_status="paid",
        payment_intent="pi_someone_elses",
    )

    answer = await shop.post_event(forged, PLATFORM)

    assert answer["outcome"] == "ignored"
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_intent"] != "pi_someone_elses"
    assert booking["status"] == "pending_payment"


async def test_a_delayed_failure_of_an_open_card_session_keeps_the_hold(shop: Shop) -> None:
    tenant, booking_id, session_id, url = await _open(shop)
    forged = session_event("checkout.session.async_payment_failed", session_id, booking_id)

    answer = await shop.post_event(forged, PLATFORM)

    assert answer["outcome"] == "ignored"
    await _held(shop, tenant, booking_id)
    await _customer_pays(shop, tenant, booking_id, url)


async def test_an_expiry_of_an_open_session_keeps_the_hold(shop: Shop) -> None:
    tenant, booking_id, session_id, url = await _open(shop)
    forged = session_event("checkout.session.expired", session_id, booking_id, status="expired")

    answer = await shop.post_event(forged, PLATFORM)

    assert answer["outcome"] == "ignored"
    await _held(shop, tenant, booking_id)
    await _customer_pays(shop, tenant, booking_id, url)


async def test_an_expiry_waits_for_stripe_when_the_session_cannot_be_read(
    webhook_database_url: str | None, tmp_path: Path
) -> None:
    async with shop_on(webhook_database_url, tmp_path, SessionsUnreadable) as shop:
        link: SessionsUnreadable = shop.container.gateway()
        tenant, booking_id, session_id, _ = await _open(shop)
        shop.lost.add("checkout.session.expired")

        async def expire() -> None:
            await shop.container.gateway().expire_checkout_session(session_id)

        await shop.in_app(expire)
        event = session_event("checkout.session.expired", session_id, booking_id, status="expired")
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
        await _held(shop, tenant, booking_id)
        link.down = False
        redelivered = await shop.post_event(event, PLATFORM)
        assert redelivered["outcome"] == "applied"
        assert (await shop.booking(tenant, booking_id))["status"] == "expired"


async def _paid(shop: Shop) -> tuple[dict[str, str], str, str, str]:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    async def charge() -> str:
        return str((await shop.container.gateway().retrieve_payment(payment)).charge_id)

    return tenant, booking_id, payment, await shop.in_app(charge)


def _fee_refunded(payment: str, charge: str, amount_refunded: int) -> dict[str, Any]:
    """`application_fee.refunded` of the 2.30 USD fee, its charge expanded (so it names
    the payment), `amount_refunded` in cents."""
    return stripe_event(
        "application_fee.refunded",
        {
            "id": "fee_forged",
            "object": "application_fee",
            "amount": 230,
            "amount_refunded": amount_refunded,
            "currency": "usd",
            "charge": {"id": charge, "object": "charge", "payment_intent": payment},
            "refunded": amount_refunded == 230,
        },
        None,
    )


async def test_a_fee_refund_naming_its_payment_that_stripe_never_made_books_nothing(
    shop: Shop,
) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)

    answer = await shop.post_event(_fee_refunded(payment, charge, 230), PLATFORM)

    assert answer["outcome"] == "ignored"
    assert await shop.ledger(tenant, booking_id) == PAID


async def test_a_fee_refund_naming_its_payment_books_what_stripe_gave_back(shop: Shop) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)
    shop.lost |= {"charge.refunded", "application_fee.refunded"}
    await shop.dashboard(
        f"payments/{payment}/refund", {"amount": 1000, "refund_application_fee": True}
    )

    await shop.post_event(_fee_refunded(payment, charge, 230), PLATFORM)

    ledger = await shop.ledger(tenant, booking_id)
    assert [entry for entry in ledger if entry[0] == "application_fee_refund"] == [
        ("application_fee_refund", 54)
    ]


def _dispute_event(
    kind: str, payment: str, dispute_id: str, charge: str, status: str
) -> dict[str, Any]:
    event: dict[str, Any] = _disputed(payment, dispute_id, None, charge)
    forged: dict[str, Any] = stripe_event(kind, {**event["data"]["object"], "status": status}, None)
    return forged


async def test_a_won_close_that_changes_nothing_is_not_applied(shop: Shop) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    before = await shop.booking(tenant, booking_id)

    forged = _dispute_event("charge.dispute.closed", payment, opened["dispute_id"], charge, "won")
    forged["created"] += 60  # newer than what the booking shows: nothing else stops it

    answer = await shop.post_event(forged, PLATFORM)

    assert answer["outcome"] == "ignored", answer
    after = await shop.booking(tenant, booking_id)
    assert after["disputes"] == before["disputes"]
    assert after["payment_status"] == "disputed"


async def test_forged_funds_reinstated_of_a_dispute_stripe_lists_no_funds_of_book_nothing(
    webhook_database_url: str | None, tmp_path: Path
) -> None:
    async with shop_on(webhook_database_url, tmp_path, DisputeFundsUnlisted) as shop:
        tenant, booking_id, payment, charge = await _paid(shop)
        opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})

        await shop.post_event(
            _dispute_event(
                "charge.dispute.funds_reinstated", payment, opened["dispute_id"], charge, "won"
            ),
            PLATFORM,
        )

        kinds = [kind for kind, _ in await shop.ledger(tenant, booking_id)]
        assert "dispute_reversal" not in kinds
        assert "dispute" not in kinds  # Stripe lists no funds withdrawn either
