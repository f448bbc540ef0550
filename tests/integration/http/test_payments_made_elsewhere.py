"""A refund made in Stripe's dashboard and a dispute reach the tenant's booking over HTTP,
once each, however often Stripe delivers their events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from application.ports.gateway import RefundRequest
from domain.money import Money
from domain.tenant import ChargeModel
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import paid_booking

pytestmark = pytest.mark.refunds


@dataclass
class Harness:
    client: AppClient
    fake: FakeGateway


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    app, container = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Harness(client, container.fake_gateway())


async def _resend_all(harness: Harness, event_type: str) -> None:
    for event in (await harness.client.get("/fake-stripe/events")).json()["data"]:
        if event["type"] == event_type:
            resent = await harness.client.post(f"/fake-stripe/events/{event['id']}/resend")
            assert resent.status_code == 200, resent.text


async def _payment_intent(harness: Harness, booking_id: str) -> str:
    for event in await harness.fake.list_events():
        if event.type == "checkout.session.completed" and booking_id.encode() in event.payload:
            return str(json.loads(event.payload)["data"]["object"]["payment_intent"])
    raise AssertionError("no completed checkout for the booking")


async def test_a_dashboard_refund_and_a_dispute_show_on_the_booking_once(
    harness: Harness,
) -> None:
    tenant, booking_id = await paid_booking(harness.client)
    payment_intent_id = await _payment_intent(harness, booking_id)

    await harness.fake.refund(
        RefundRequest(
            booking_id=booking_id,
            payment_intent_id=payment_intent_id,
            amount=Money(2115, "usd"),
            charge_model=ChargeModel.DESTINATION,
            refund_application_fee=True,
            reverse_transfer=True,
            idempotency_key="made-in-the-dashboard",
        )
    )
    dispute_id = await harness.fake.open_dispute(payment_intent_id, reason="fraudulent")
    await _resend_all(harness, "charge.refunded")
    await _resend_all(harness, "charge.dispute.created")

    detail = (await harness.client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    # A refund gives money back, never seats; the open dispute is what the money is now.
    assert (detail["status"], detail["payment_status"]) == ("confirmed", "disputed")
    assert detail["refunded"] == {"amount": 2115, "currency": "usd"}
    kinds = sorted((e["kind"], e["amount"]["amount"]) for e in detail["ledger"])
    assert kinds == [
        ("application_fee", 230),
        ("application_fee_refund", 115),
        ("charge", 4230),
        # The fake withdraws a dispute's funds (and Stripe's dispute fee) as it opens it.
        ("dispute", 2115),
        ("dispute_fee", 1500),
        ("refund", 2115),
    ]
    assert [
        (d["id"], d["amount"]["amount"], d["reason"], d["status"], d["is_charge_refundable"])
        for d in detail["disputes"]
    ] == [(dispute_id, 2115, "fraudulent", "needs_response", False)]

    # While the dispute makes the charge not refundable, the tenant cannot refund what is
    # left: Stripe would refuse, and the customer would be paid twice.
    rest = await harness.client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds", json={}, headers=tenant
    )
    assert rest.status_code == 409, rest.text
    assert rest.json()["type"] == "urn:bookpay:problem:dispute-open"
    after = (await harness.client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    assert after["refunded"] == {"amount": 2115, "currency": "usd"}
