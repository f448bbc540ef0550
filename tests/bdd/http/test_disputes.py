"""Steps for features/disputes.feature, through the HTTP API in-process with the fake gateway.

The customer pays on the fake's hosted page; Stripe's dispute events are built here from
Stripe's own dispute fixture and delivered signed to the webhook endpoint the charge model
uses (the platform's for destination charges, Connect's for direct ones), as Stripe would.
The dispute itself is opened and closed at the fake gateway too (its own deliveries of it
are lost: the steps send Stripe's events in the order a scenario says), since Bookpay
recovers a lost destination-charge dispute, through the fake's transfer reversal, only
when Stripe lists it lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dependency_injector import providers
from litestar.testing import TestClient
from pytest_bdd import given, parsers, scenarios, then, when

from application.ports.gateway import WebhookEndpoint
from tests.bdd.http.conftest import fee_policy_json
from tests.bdd.http.dispute_world import (
    DisputeWorld,
    close,
    deliver,
    open,
    payment_of,
    signedmoney_json,
)
from tests.bdd.notation import money_json
from tests.support.http_app import (
    ADMIN_KEY,
    BASE_URL,
    build_test_app,
)

pytestmark = pytest.mark.disputes

scenarios("disputes.feature")


ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


# Autouse, so that every scenario runs on each engine (pytest-bdd asks for its step
# fixtures at run time, too late to parametrize them).
@pytest.fixture(params=ENGINES, autouse=True)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
def dispute_world(database_url: str | None, tmp_path: Path) -> Iterator[DisputeWorld]:
    world = DisputeWorld(tmp_path, database_url)
    yield world
    if world.client is not None:
        world.client.__exit__(None, None, None)


@given(
    parsers.re(
        r"the platform's setting for lost disputes of destination charges is "
        r'"(?P<bearer>tenant|platform)"'
    )
)
def dispute_setting(dispute_world: DisputeWorld, bearer: str) -> None:
    app, container = build_test_app(
        dispute_world.tmp_path, dispute_world.database_url, dispute_bearer=bearer
    )
    deliver = container.webhook_delivery()

    async def without_disputes(
        endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]
    ) -> int:
        if json.loads(body)["type"].startswith("charge.dispute."):
            return 200  # the steps send the dispute's events themselves
        return int(await deliver(endpoint, body, headers))

    container.webhook_delivery.override(providers.Object(without_disputes))
    dispute_world.client = TestClient(app=app, base_url=BASE_URL).__enter__()
    dispute_world.fake = container.fake_gateway()


@given(
    parsers.re(
        r"a tenant selling with (?P<model>destination|direct) charges, and a customer who paid "
        r"42.30 USD"
    )
)
def tenant_and_paid_booking(dispute_world: DisputeWorld, model: str) -> None:
    world, http = dispute_world, dispute_world.http
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    created = http.post(
        "/v1/admin/tenants",
        json={
            "name": "Studio",
            "slug": slug,
            "country": "US",
            "default_currency": "usd",
            "timezone": "UTC",
            "charge_model": model,
            "fee_policy": fee_policy_json("5% + 0.30 USD", "customer"),
        },
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert created.status_code == 201, created.text
    world.tenant_key, world.charge_model = created.json()["api_key"], model
    link = http.post("/v1/tenant/connect/onboarding-link", headers=world.tenant())
    assert http.post(link.json()["url"], follow_redirects=False).status_code == 303
    world.account_id = http.get("/v1/tenant/connect/status", headers=world.tenant()).json()[
        "account_id"
    ]
    offering = http.post(
        "/v1/tenant/offerings",
        json={
            "name": "Class",
            "price": money_json("20.00 USD"),
            "duration_minutes": 60,
            "capacity": 4,
        },
        headers=world.tenant(),
    )
    assert offering.status_code == 201, offering.text
    starts_at = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    slots = http.post(
        f"/v1/tenant/offerings/{offering.json()['id']}/slots",
        json={"starts_at": starts_at.isoformat()},
        headers=world.tenant(),
    )
    assert slots.status_code == 201, slots.text
    checkout = http.post(
        f"/v1/public/{slug}/checkout",
        json={
            "slot_id": slots.json()["data"][0]["id"],
            "seats": 2,
            "customer": {"email": "customer@example.com"},
        },
    )
    assert checkout.status_code == 201, checkout.text
    assert checkout.json()["quote"]["customer_total"] == money_json("42.30 USD")
    world.booking_id = checkout.json()["booking_id"]
    world.booking_token = checkout.json()["booking_token"]
    paid = http.post(
        checkout.json()["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    assert world.detail()["status"] == "confirmed"
    world.payment_intent, world.charge = payment_of(world)


# --- Stripe's dispute events ------------------------------------------------------------


@when(parsers.re(r'the customer\'s bank disputes the whole payment as "(?P<reason>\w+)"'))
def bank_disputes(dispute_world: DisputeWorld, reason: str) -> None:
    open(dispute_world, reason)
    deliver(dispute_world, "opened")


@when("Stripe withdraws the disputed 42.30 USD and its dispute fee")
def funds_withdrawn(dispute_world: DisputeWorld) -> None:
    deliver(dispute_world, "funds withdrawn")


@when(parsers.re(r"the dispute is (?P<outcome>won|lost)"))
def dispute_closed(dispute_world: DisputeWorld, outcome: str) -> None:
    deliver(dispute_world, f"closed as {outcome}")
    if outcome == "won":
        deliver(dispute_world, "funds reinstated")


@when(
    parsers.re(
        r"Stripe sends the dispute's events in the order (?P<order>.+), each (?P<times>\d+) times"
    )
)
def events_in_order(dispute_world: DisputeWorld, order: str, times: str) -> None:
    names = [name.strip() for name in order.split(",")]
    # Stripe sends an event after what it tells happened, and Bookpay applies the dispute
    # as Stripe shows it when the event comes: the dispute is where the story ends first.
    for name in names:
        if name.startswith("closed as"):
            close(dispute_world, won=name == "closed as won")
    for _ in range(int(times)):
        for name in names:
            deliver(dispute_world, name)


# --- what customers and tenants try, and what they see ----------------------------------


@when(parsers.re(r"(?P<who>the customer|the tenant) tries to (?P<action>.+)"))
def tries(dispute_world: DisputeWorld, who: str, action: str) -> None:
    world, http = dispute_world, dispute_world.http
    if who == "the customer":
        assert action == "cancel"
        response = http.post(
            f"/v1/public/bookings/{world.booking_id}/cancel",
            params={"token": world.booking_token},
        )
    elif action == "cancel":
        response = http.post(
            f"/v1/tenant/bookings/{world.booking_id}/cancel", json={}, headers=world.tenant()
        )
    else:
        amount = action.removeprefix("refund ")
        body = {} if amount == "all that is left" else {"amount": money_json(amount)}
        response = http.post(
            f"/v1/tenant/bookings/{world.booking_id}/refunds", json=body, headers=world.tenant()
        )
    world.responses.append(response)


@then("it is refused: the dispute is open")
def refused_dispute_open(dispute_world: DisputeWorld) -> None:
    response = dispute_world.responses[-1]
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:bookpay:problem:dispute-open"


@then(
    parsers.re(
        r"the booking stays confirmed, its payment (?P<payment>[a-z ]+?)"
        r"(?P<nothing>, with nothing refunded)?$"
    )
)
def booking_stays_confirmed(dispute_world: DisputeWorld, payment: str, nothing: str) -> None:
    detail = dispute_world.detail()
    assert (detail["status"], detail["payment_status"]) == ("confirmed", payment)
    if nothing:
        assert detail["refunded"] == money_json("0.00 USD")
        assert not [e for e in detail["ledger"] if e["kind"] == "refund"]
        seats = dispute_world.http.get(
            f"/v1/public/bookings/{dispute_world.booking_id}",
            params={"token": dispute_world.booking_token},
        ).json()
        assert seats["status"] == "confirmed"


@then(
    parsers.re(
        r'the booking shows the dispute of (?P<amount>.+) for "(?P<reason>\w+)", '
        r"needing a response"
    )
)
def booking_shows_dispute(dispute_world: DisputeWorld, amount: str, reason: str) -> None:
    assert dispute_world.dispute is not None
    (shown,) = dispute_world.detail()["disputes"]
    assert shown["id"] == dispute_world.dispute.id
    assert (shown["amount"], shown["reason"]) == (money_json(amount), reason)
    assert (shown["status"], shown["is_charge_refundable"]) == ("needs_response", False)
    assert shown["opened_at"] is not None
    assert shown["closed_at"] is None


@then(
    parsers.re(
        r"the ledger shows (?P<withdrawn>.+) withdrawn and (?P<fee>.+) of dispute fee from the "
        r"(?P<debited>tenant|platform)'s balance, (?P<reinstated>.+) reinstated"
    )
)
def ledger_shows_funds(
    dispute_world: DisputeWorld, withdrawn: str, fee: str, debited: str, reinstated: str
) -> None:
    assert dispute_world.dispute is not None
    entries = [
        e for e in dispute_world.detail()["ledger"] if e["gateway_ref"] == dispute_world.dispute.id
    ]
    assert {e["borne_by"] for e in entries} == {debited}
    amounts = {e["kind"]: e["amount"] for e in entries}
    assert amounts["dispute"] == money_json(withdrawn)
    assert amounts["dispute_fee"] == money_json(fee)
    expected = money_json(reinstated)
    assert amounts.get("dispute_reversal", {**expected, "amount": 0}) == expected
    assert len(entries) == len(amounts)  # each kind once


@then(parsers.re(r"the ledger shows (?P<recovered>.+) taken back from the tenant"))
def ledger_shows_recovery(dispute_world: DisputeWorld, recovered: str) -> None:
    assert dispute_world.dispute is not None
    taken_back = [
        e
        for e in dispute_world.detail()["ledger"]
        if e["kind"] == "dispute" and e["gateway_ref"] != dispute_world.dispute.id
    ]
    assert sum(e["amount"]["amount"] for e in taken_back) == money_json(recovered)["amount"]
    assert all(e["borne_by"] == "tenant" for e in taken_back)
    assert len(taken_back) <= 1  # one transfer reversal, however often the events came


@then(
    parsers.re(
        r"the tenant's statement shows (?P<disputes>.+) of disputes and a net of (?P<net>.+)"
    )
)
def statement_shows(dispute_world: DisputeWorld, disputes: str, net: str) -> None:
    response = dispute_world.http.get("/v1/tenant/statement", headers=dispute_world.tenant())
    assert response.status_code == 200, response.text
    (line,) = response.json()["data"]
    assert line["disputes"] == money_json(disputes)
    assert line["net"] == signedmoney_json(net)
    gross, refunds, fees, fee_refunds = (
        line[k]["amount"] for k in ("gross", "refunds", "fees", "fee_refunds")
    )
    assert line["net"]["amount"] == (
        gross - refunds - fees + fee_refunds - line["disputes"]["amount"]
    )
