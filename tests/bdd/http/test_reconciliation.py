"""Steps for features/reconciliation.feature, through the HTTP API in-process with the fake
gateway's dashboard; Stripe's messages are lost on the way until Bookpay reconciles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient
from pytest_bdd import given, parsers, scenarios, then, when

from application.ports.gateway import WebhookEndpoint
from application.reconcile import ReconcileReport
from tests.bdd.notation import money_json, parse_money
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app
from tests.support.scopes import on_platform

scenarios("reconciliation.feature")

KINDS = {
    "a refund": "refund",
    "a fee refund": "application_fee_refund",
    "a dispute": "dispute",
    "a dispute fee": "dispute_fee",
}
PAYMENTS = {"partially refunded": "partially_refunded"}


@dataclass
class Shop:
    client: TestClient[Any]
    container: Any
    lost: list[bool] = field(default_factory=lambda: [False])
    tenant: dict[str, str] = field(default_factory=dict)
    booking_id: str = ""
    payment: str = ""
    reports: list[ReconcileReport] = field(default_factory=list)

    def detail(self) -> dict[str, Any]:
        answer = self.client.get(f"/v1/tenant/bookings/{self.booking_id}", headers=self.tenant)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    app, container = build_test_app(tmp_path)
    deliver = container.webhook_delivery()
    lost = [False]

    async def lossy(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        if lost[0] and not json.loads(body)["type"].startswith("checkout."):
            return 200  # acknowledged by something that is not Bookpay
        return int(await deliver(endpoint, body, headers))

    container.webhook_delivery.override(providers.Object(lossy))
    with TestClient(app=app, base_url=BASE_URL) as client:
        yield Shop(client, container, lost)


@given("a customer who paid 42.30 USD for a booking")
def paid_booking(shop: Shop) -> None:
    created = shop.client.post(
        "/v1/admin/tenants",
        json={
            "name": "Studio",
            "slug": "studio",
            "country": "US",
            "default_currency": "usd",
            "timezone": "UTC",
            "fee_policy": {"percent_bps": 500, "fixed": money_json("0.30 USD")},
        },
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert created.status_code == 201, created.text
    shop.tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
    link = shop.client.post("/v1/tenant/connect/onboarding-link", headers=shop.tenant)
    assert shop.client.post(link.json()["url"], follow_redirects=False).status_code == 303
    offering = shop.client.post(
        "/v1/tenant/offerings",
        json={
            "name": "Class",
            "price": money_json("20.00 USD"),
            "duration_minutes": 60,
            "capacity": 5,
        },
        headers=shop.tenant,
    )
    assert offering.status_code == 201, offering.text
    slots = shop.client.post(
        f"/v1/tenant/offerings/{offering.json()['id']}/slots",
        json={"starts_at": "2031-03-02T10:00:00+00:00"},
        headers=shop.tenant,
    )
    assert slots.status_code == 201, slots.text
    checkout = shop.client.post(
        "/v1/public/studio/checkout",
        json={
            "slot_id": slots.json()["data"][0]["id"],
            "seats": 2,
            "customer": {"email": "ada@example.com"},
        },
    )
    assert checkout.status_code == 201, checkout.text
    paid = shop.client.post(
        checkout.json()["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    shop.booking_id = checkout.json()["booking_id"]
    detail = shop.detail()
    assert detail["quote"]["customer_total"] == money_json("42.30 USD")
    shop.payment = str(detail["payment_intent"])


@given("Stripe's messages about the payment are lost")
def messages_lost(shop: Shop) -> None:
    shop.lost[0] = True


def _dashboard(shop: Shop, path: str, body: dict[str, Any]) -> None:
    answer = shop.client.post(f"/fake-stripe/{path}", json=body)
    assert answer.status_code in (200, 201), answer.text


@when(parsers.re(r"(?P<what>.+) in Stripe's dashboard"))
def in_the_dashboard(shop: Shop, what: str) -> None:
    refund = f"payments/{shop.payment}/refund"
    if what == "the customer's bank disputes the payment":
        _dashboard(shop, f"payments/{shop.payment}/dispute", {"reason": "fraudulent"})
    elif what == "everything is refunded with the platform's fee":
        _dashboard(shop, refund, {"refund_application_fee": True})
    else:
        amount, fee = what.split(" is refunded")
        with_fee = fee.strip().startswith("with")
        body = {"amount": parse_money(amount).amount, "refund_application_fee": with_fee}
        _dashboard(shop, refund, body)


@when("Bookpay reconciles, twice")
def reconciles_twice(shop: Shop) -> None:
    for _ in range(2):
        reconcile = on_platform(shop.container.reconcile())
        shop.reports.append(shop.client.blocking_portal.call(reconcile))


@then(parsers.parse("the booking's payment is {payment}"))
def payment_is(shop: Shop, payment: str) -> None:
    assert shop.detail()["payment_status"] == PAYMENTS.get(payment, payment)


@then(parsers.parse("the ledger holds {entries}"))
def ledger_holds(shop: Shop, entries: str) -> None:
    beyond = sorted(
        (e["kind"], e["amount"]["amount"])
        for e in shop.detail()["ledger"]
        if e["kind"] not in ("charge", "application_fee")
    )
    expected = []
    for entry in entries.split(", "):
        kind, amount = entry.split(" of ")
        expected.append((KINDS[kind], parse_money(amount).amount))
    assert beyond == sorted(expected)


@then(parsers.parse("the tenant's statement shows a net of {net}"))
def statement_net(shop: Shop, net: str) -> None:
    statement = shop.client.get("/v1/tenant/statement", headers=shop.tenant)
    assert statement.status_code == 200, statement.text
    (line,) = statement.json()["data"]
    assert line["net"] == money_json(net)


@then("nothing was left for a human")
def nothing_for_a_human(shop: Shop) -> None:
    first, second = shop.reports
    assert first.payments_repaired
    assert first.for_a_human == []
    assert second.payments_repaired == []
    assert second.for_a_human == []
