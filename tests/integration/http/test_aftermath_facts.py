"""Signed but false, after the payment (issue 12, "What was seen" 5, brief `facts`).

A correctly signed `charge.refunded` or `charge.dispute.*` naming a booking's payment is
not taken on its word when it comes from another account or names another charge: the
charge is fetched from the gateway and its facts decide (nothing, when Stripe made no such
refund or has no such dispute). Reconciliation reports a dispute Bookpay recorded that
Stripe does not list. Through HTTP with the fake gateway, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from application.ports.gateway import WebhookEndpoint
from application.ports.gateway_events import DisputeCreated
from application.reconcile import ReconcileReport
from domain.dispute import DisputeStatus
from tests.support.http_flows import paid_booking
from tests.support.webhook_shop import FOREIGN, LIES, PAID, Shop
from tests.support.webhook_shop import charge_refunded as _refunded
from tests.support.webhook_shop import dispute_created as _disputed


@pytest.fixture
def shop(webhook_shop: Shop) -> Shop:
    return webhook_shop


@pytest.mark.parametrize(("endpoint", "account"), LIES)
async def test_a_signed_refund_the_gateway_never_made_refunds_nothing(
    shop: Shop, endpoint: WebhookEndpoint, account: str | None
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    first = await shop.post_event(_refunded(payment, 500, account, "ch_forged"), endpoint)
    second = await shop.post_event(_refunded(payment, 700, account, "ch_forged"), endpoint)

    assert (first["outcome"], second["outcome"]) == ("ignored", "ignored")
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_status"] == "paid"
    assert booking["refunded"]["amount"] == 0
    assert await shop.ledger(tenant, booking_id) == PAID
    # The whole charge is still refundable: nothing is short.
    refunded = await shop.refund(tenant, booking_id, 4230)
    assert refunded.status_code == 201, refunded.text
    assert (await shop.booking(tenant, booking_id))["refunded"]["amount"] == 4230


async def test_a_foreign_refund_event_about_a_real_refund_books_what_the_gateway_made(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost |= {"charge.refunded", "application_fee.refunded"}
    await shop.dashboard(
        f"payments/{payment}/refund", {"amount": 2115, "refund_application_fee": False}
    )

    answer = await shop.post_event(
        _refunded(payment, 700, FOREIGN, "ch_forged"), WebhookEndpoint.CONNECT
    )

    assert answer["outcome"] == "applied"
    assert await shop.ledger(tenant, booking_id) == sorted([*PAID, ("refund", 2115)])
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_status"] == "partially_refunded"
    assert booking["refunded"]["amount"] == 2115


@pytest.mark.parametrize(("endpoint", "account"), LIES)
async def test_a_signed_dispute_the_gateway_does_not_have_blocks_nothing(
    shop: Shop, endpoint: WebhookEndpoint, account: str | None
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    answer = await shop.post_event(_disputed(payment, "dp_forged", account, "ch_forged"), endpoint)

    assert answer["outcome"] == "ignored"
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_status"] == "paid"
    assert booking["disputes"] == []
    refunded = await shop.refund(tenant, booking_id, 1000)
    assert refunded.status_code == 201, refunded.text


async def test_a_foreign_dispute_event_about_a_real_dispute_records_the_gateways_dispute(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost |= {"charge.dispute.created", "charge.dispute.funds_withdrawn"}
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})

    answer = await shop.post_event(
        _disputed(payment, opened["dispute_id"], FOREIGN, "ch_forged"), WebhookEndpoint.CONNECT
    )

    assert answer["outcome"] == "applied"
    booking = await shop.booking(tenant, booking_id)
    assert [d["id"] for d in booking["disputes"]] == [opened["dispute_id"]]
    assert booking["payment_status"] == "disputed"


async def test_reconciliation_reports_a_dispute_stripe_does_not_list(shop: Shop) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    await shop.applied_on_its_word(DisputeCreated, payment, DisputeStatus.NEEDS_RESPONSE)
    assert (await shop.booking(tenant, booking_id))["payment_status"] == "disputed"

    report: ReconcileReport = await shop.in_app(shop.container.reconcile())

    assert (
        f"{booking_id}: dispute dp_forged is needs_response in Bookpay, not listed at the gateway"
    ) in report.for_a_human


# --- Nothing left ----------------------------------------------------------------------


async def test_refunding_the_rest_of_a_fully_refunded_booking_says_nothing_is_left(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    assert (await shop.refund(tenant, booking_id, 4230)).status_code == 201

    rest = await shop.client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds", json={}, headers=tenant
    )

    assert rest.status_code == 409, rest.text
    assert "nothing is left to refund" in rest.json()["detail"]
    assert "exceeds" not in rest.json()["detail"]
