"""Issue 12, "What was seen" 3: a refund made in Stripe's dashboard books the fee refund
Stripe made (none when the fee was not refunded), never one computed from the policy.

Through HTTP with the fake's dashboard, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import paid_booking

pytestmark = pytest.mark.refunds

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@dataclass
class Harness:
    client: AppClient
    fake: FakeGateway


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def harness(database_url: str | None, tmp_path: Path) -> AsyncIterator[Harness]:
    app, container = build_test_app(tmp_path, database_url)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Harness(client, container.fake_gateway())


async def _payment_intent(harness: Harness, booking_id: str) -> str:
    for event in await harness.fake.list_events():
        if event.type == "checkout.session.completed" and booking_id.encode() in event.payload:
            return str(json.loads(event.payload)["data"]["object"]["payment_intent"])
    raise AssertionError("no completed checkout for the booking")


async def _dashboard_refund(harness: Harness, booking_id: str, body: dict[str, Any]) -> None:
    payment_intent_id = await _payment_intent(harness, booking_id)
    refunded = await harness.client.post(
        f"/fake-stripe/payments/{payment_intent_id}/refund", json=body
    )
    assert refunded.status_code in (200, 201), refunded.text


async def _ledger(harness: Harness, tenant: dict[str, str], booking_id: str) -> list[Any]:
    detail = await harness.client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)
    assert detail.status_code == 200, detail.text
    return sorted((e["kind"], e["amount"]["amount"]) for e in detail.json()["ledger"])


async def _net(harness: Harness, tenant: dict[str, str]) -> int:
    statement = await harness.client.get("/v1/tenant/statement", headers=tenant)
    assert statement.status_code == 200, statement.text
    (line,) = statement.json()["data"]
    return int(line["net"]["amount"])


async def test_a_dashboard_refund_without_the_fee_keeps_the_platforms_fee(
    harness: Harness,
) -> None:
    # 42.30 paid, 2.30 of it the platform's fee; half refunded in the dashboard, fee kept.
    tenant, booking_id = await paid_booking(harness.client)

    await _dashboard_refund(harness, booking_id, {"amount": 2115})

    assert await _ledger(harness, tenant, booking_id) == [
        ("application_fee", 230),
        ("charge", 4230),
        ("refund", 2115),
    ]
    # The tenant gave back the whole 21.15: 42.30 − 21.15 − 2.30.
    assert await _net(harness, tenant) == 4230 - 2115 - 230


async def test_a_dashboard_refund_with_the_fee_books_the_fee_refund_stripe_made(
    harness: Harness,
) -> None:
    tenant, booking_id = await paid_booking(harness.client)

    await _dashboard_refund(harness, booking_id, {"amount": 2115, "refund_application_fee": True})

    assert await _ledger(harness, tenant, booking_id) == [
        ("application_fee", 230),
        ("application_fee_refund", 115),
        ("charge", 4230),
        ("refund", 2115),
    ]
    assert await _net(harness, tenant) == 4230 - 2115 - 230 + 115


async def test_replayed_refund_events_book_the_fee_refund_once(harness: Harness) -> None:
    tenant, booking_id = await paid_booking(harness.client)
    await _dashboard_refund(harness, booking_id, {"amount": 1000, "refund_application_fee": True})
    await _dashboard_refund(harness, booking_id, {"amount": 1000})

    for event in (await harness.client.get("/fake-stripe/events")).json()["data"]:
        if event["type"] in ("charge.refunded", "application_fee.refunded"):
            resent = await harness.client.post(f"/fake-stripe/events/{event['id']}/resend")
            assert resent.status_code == 200, resent.text

    ledger = await _ledger(harness, tenant, booking_id)
    # Stripe gave back 230 × 1000 / 4230 = 54.4 → 54 of the fee with the first refund only.
    assert [e for e in ledger if e[0] == "application_fee_refund"] == [
        ("application_fee_refund", 54)
    ]
    assert sorted(e[1] for e in ledger if e[0] == "refund") == [1000, 1000]


async def test_bookpays_own_partial_refunds_book_the_fee_refunds_stripe_made(
    harness: Harness,
) -> None:
    # Stripe gives back 230 × 1000 / 4230 = 54.4 → 54 of the fee with each 10.00 refund;
    # the policy's running total would have said 109 after the second one.
    tenant, booking_id = await paid_booking(harness.client)
    for _ in range(2):
        refunded = await harness.client.post(
            f"/v1/tenant/bookings/{booking_id}/refunds",
            json={"amount": {"amount": 1000, "currency": "usd"}},
            headers=tenant,
        )
        assert refunded.status_code == 201, refunded.text

    ledger = await _ledger(harness, tenant, booking_id)
    payment_intent_id = await _payment_intent(harness, booking_id)
    reported = await harness.fake.application_fee_refunded(payment_intent_id)
    assert reported is not None
    assert reported.amount == 108
    assert sum(a for k, a in ledger if k == "application_fee_refund") == 108
    assert sorted(a for k, a in ledger if k == "refund") == [1000, 1000]
    assert await _net(harness, tenant) == 4230 - 2000 - 230 + 108
