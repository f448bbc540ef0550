"""Steps that drive the HTTP API in-process, with the fake gateway's hosted pages."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from pytest_bdd import given, parsers, then, when

from adapters.stripe_wire.signature import sign
from tests.bdd.http.world import World, assert_outcome
from tests.bdd.notation import money_json, parse_fee, status_name
from tests.support.http_app import (
    BASE_URL,
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    asgi_transport,
    build_test_app,
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    app, _ = build_test_app(tmp_path)
    # Litestar's sync client, so in a portal: the steps are synchronous, and the portal's
    # loop runs the app and its periodic tasks between them. The steps that use the app's
    # engine go through that same portal (blocking_portal.call), never another loop
    # (async tests use tests/support/app_client.py).
    with TestClient(app=app, base_url=BASE_URL) as client:
        yield World(client)


def fee_policy_json(text: str, bearer: str) -> dict[str, Any]:
    """ "5% + 0.30 USD" borne by `bearer`, as the fee policy object of API.md."""
    return {**parse_fee(text).as_json(), "bearer": bearer}


def _create_tenant(world: World, slug: str, policy: dict[str, Any] | None) -> str:
    body: dict[str, Any] = {
        "name": slug.replace("-", " ").title(),
        "slug": slug,
        "country": "US",
        "default_currency": "usd",
        "timezone": "UTC",
    }
    if policy:
        body["fee_policy"] = policy
        # A tenant's policy prices its default currency: a tenant whose fixed fee is in
        # JPY sells in JPY.
        fixed = policy.get("fixed")
        if fixed:
            body["default_currency"] = fixed["currency"]
    response = world.client.post("/v1/admin/tenants", json=body, headers=world.admin())
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


@given(
    parsers.re(
        r'a tenant "(?P<slug>[\w-]+)" that can take charges, with fee policy "(?P<policy>[^"]+)" '
        r"borne by the (?P<bearer>customer|tenant)"
    )
)
def tenant_that_can_sell(world: World, slug: str, policy: str, bearer: str) -> None:
    world.tenant_slug = slug
    world.tenant_key = _create_tenant(world, slug, fee_policy_json(policy, bearer))
    link = world.client.post("/v1/tenant/connect/onboarding-link", headers=world.tenant())
    assert link.status_code == 200, link.text
    done = world.client.post(link.json()["url"], follow_redirects=False)
    assert done.status_code == 303, done.text
    status = world.client.get("/v1/tenant/connect/status", headers=world.tenant()).json()
    assert status["charges_enabled"] is True, status


def _add_offering_and_slot(world: World, price: str, capacity: int) -> None:
    offering = world.client.post(
        "/v1/tenant/offerings",
        json={
            "name": "Session",
            "price": money_json(price),
            "duration_minutes": 60,
            "capacity": capacity,
        },
        headers=world.tenant(),
    )
    assert offering.status_code == 201, offering.text
    world.offering_id = offering.json()["id"]
    starts_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    slots = world.client.post(
        f"/v1/tenant/offerings/{world.offering_id}/slots",
        json={"starts_at": starts_at.isoformat()},
        headers=world.tenant(),
    )
    assert slots.status_code == 201, slots.text
    world.slot_id = slots.json()["data"][0]["id"]


@given(parsers.re(r"an offering priced at (?P<price>.+) with a slot of (?P<capacity>\d+) seats"))
def offering_with_slot(world: World, price: str, capacity: str) -> None:
    _add_offering_and_slot(world, price, int(capacity))


@given(parsers.re(r"the offering sells at most (?P<limit>\d+|no own number) seats per booking"))
def offering_seats_per_booking(world: World, limit: str) -> None:
    if limit == "no own number":
        return
    changed = world.client.patch(
        f"/v1/tenant/offerings/{world.offering_id}",
        json={"max_seats_per_booking": int(limit)},
        headers=world.tenant(),
    )
    assert changed.status_code == 200, changed.text


@given(
    parsers.re(r'a tenant "(?P<slug>[\w-]+)" that has not onboarded, with an offering and a slot')
)
def tenant_not_onboarded(world: World, slug: str) -> None:
    world.tenant_slug = slug
    world.tenant_key = _create_tenant(world, slug, None)
    _add_offering_and_slot(world, "20.00 USD", 5)


def _public_key(label: str) -> str:
    """A public checkout's key must be unguessable (API.md): the label names a UUID."""
    return f"{label}-{uuid.uuid5(uuid.NAMESPACE_URL, label)}"


def _checkout(world: World, seats: int, key: str | None = None, slug: str | None = None) -> None:
    headers = {"Idempotency-Key": _public_key(key)} if key else {}
    response = world.client.post(
        f"/v1/public/{slug or world.tenant_slug}/checkout",
        json={
            "slot_id": world.slot_id,
            "seats": seats,
            "customer": {"email": "customer@example.com", "name": "Customer"},
        },
        headers=headers,
    )
    world.responses.append(response)
    if response.status_code == 201 and not world.checkout:
        world.checkout = response.json()


def checkout_by_another_customer(world: World, seats: int, other: int = 1) -> httpx.Response:
    """A checkout of `seats` by another customer (the `other`th), from an address of its
    own: the seats one address holds of a slot are counted (README, "Seats one client may
    hold"), so other customers are not the customer's connection."""
    app = world.client.app
    body = {"slot_id": world.slot_id, "seats": seats, "customer": {"email": f"o{other}@x.io"}}

    async def post() -> httpx.Response:
        address = (f"198.51.100.{other}", 50000)
        transport = asgi_transport(app, client=address)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as elsewhere:
            return await elsewhere.post(f"/v1/public/{world.tenant_slug}/checkout", json=body)

    response: httpx.Response = world.client.blocking_portal.call(post)
    return response


def other_customers_hold(world: World, seats: int) -> None:
    """`seats` held by as many other customers, one seat each."""
    for other in range(1, seats + 1):
        response = checkout_by_another_customer(world, 1, other)
        assert response.status_code == 201, response.text


@given(parsers.re(r"(?P<taken>\d+) seats of the slot are already held by other customers"))
def seats_already_held(world: World, taken: str) -> None:
    other_customers_hold(world, int(taken))


@given(parsers.re(r"a customer has checked out (?P<seats>\d+) seats"))
@when(parsers.re(r"a customer checks out (?P<seats>\d+) seats$"))
def customer_checks_out(world: World, seats: str) -> None:
    _checkout(world, int(seats))


@when(parsers.re(r'a customer checks out (?P<seats>\d+) seats at "(?P<slug>[\w-]+)"'))
def customer_checks_out_at(world: World, seats: str, slug: str) -> None:
    _checkout(world, int(seats), slug=slug)


@when(
    parsers.re(
        r"(?:a|the) customer checks out (?P<seats>\d+) seats(?: again)? with retry key "
        r'"(?P<key>[^"]+)"'
    )
)
def customer_checks_out_with_key(world: World, seats: str, key: str) -> None:
    _checkout(world, int(seats), key=key)


@then(parsers.re(r"the (?:last )?checkout is (?P<outcome>accepted|refused: .+)$"))
def checkout_outcome(world: World, outcome: str) -> None:
    assert_outcome(world.last, outcome, accepted=201)


@then(parsers.re(r"the customer total is (?P<total>.+)"))
def customer_total_is(world: World, total: str) -> None:
    if total == "none":
        assert world.last.status_code != 201
        return
    assert world.last.json()["quote"]["customer_total"] == money_json(total)


@then(parsers.re(r"the slot has (?P<left>\d+) seats available"))
def slot_has_seats(world: World, left: str) -> None:
    assert world.seats_available() == int(left)


@then("both answers name the same booking")
def same_booking(world: World) -> None:
    first, second = world.responses[-2:]
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["booking_id"] == second.json()["booking_id"]
    assert first.json()["booking_token"] == second.json()["booking_token"]


# --- paying on the hosted pages, and webhooks --------------------------------------------


@when("the customer pays on the hosted checkout page")
def pay_on_hosted_page(world: World) -> None:
    page = world.client.get(world.checkout["checkout_url"])
    assert page.status_code == 200
    assert "Pay" in page.text
    paid = world.client.post(
        world.checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text


@when("the customer chooses a delayed payment method on the hosted checkout page")
def pay_with_delayed_method(world: World) -> None:
    response = world.client.post(
        world.checkout["checkout_url"] + "/pay", data={"method": "delayed"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


@when(parsers.re(r"the delayed payment (?P<outcome>succeeds|fails)"))
def delayed_payment_outcome(world: World, outcome: str) -> None:
    action = "pay" if outcome == "succeeds" else "decline"
    response = world.client.post(
        f"{world.checkout['checkout_url']}/{action}", follow_redirects=False
    )
    assert response.status_code == 303, response.text


@when(parsers.re(r"Stripe delivers the completion event (?P<extra>\d+) more times"))
def redeliver_completion(world: World, extra: str) -> None:
    events = world.client.get("/fake-stripe/events").json()["data"]
    completed = next(e for e in events if e["type"] == "checkout.session.completed")
    for _ in range(int(extra)):
        resent = world.client.post(f"/fake-stripe/events/{completed['id']}/resend")
        assert resent.status_code == 200, resent.text
        assert resent.json()["delivered"] is True


@then(parsers.re(r'the booking is "(?P<status>[\w ]+)"'))
def booking_is(world: World, status: str) -> None:
    assert world.booking()["status"] == status_name(status)


@then(parsers.re(r'the booking is still "(?P<status>\w+)", its payment (?P<payment>[a-z ]+)'))
def booking_and_payment_are(world: World, status: str, payment: str) -> None:
    booking = world.booking()
    assert (booking["status"], booking["payment_status"]) == (status, payment.replace(" ", "_"))


@then(
    parsers.re(
        r"the booking's ledger has a charge of (?P<charge>.+) and an application fee of "
        r"(?P<fee>.+), once each"
    )
)
def ledger_once(world: World, charge: str, fee: str) -> None:
    detail = world.client.get(
        f"/v1/tenant/bookings/{world.checkout['booking_id']}", headers=world.tenant()
    ).json()
    ledger = detail["ledger"]
    assert [e["amount"] for e in ledger if e["kind"] == "charge"] == [money_json(charge)]
    assert [e["amount"] for e in ledger if e["kind"] == "application_fee"] == [money_json(fee)]
    assert len(ledger) == 2


# Stripe's two webhook endpoints (API.md), by the events each receives.
WEBHOOK_ENDPOINTS = {
    "the platform's events": "/v1/webhooks/stripe",
    "connected accounts' events": "/v1/webhooks/stripe/connect",
}


@when(
    parsers.re(
        r"Stripe sends an event to the endpoint for (?P<endpoint>.+?), signed with "
        r"(?P<secret>.+)$"
    )
)
def webhook_arrives(world: World, endpoint: str, secret: str) -> None:
    now = datetime.now(UTC)
    payload = json.dumps(
        {
            "id": "evt_bdd_ignored",
            "object": "event",
            "api_version": "2023-08-16",
            "created": int(now.timestamp()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": "customer.created",
            "data": {"object": {"id": "cus_bdd", "object": "customer"}},
        }
    ).encode()
    secrets = {
        "the platform secret": (WEBHOOK_SECRET, now),
        "the connect secret": (CONNECT_WEBHOOK_SECRET, now),
        "a wrong secret": ("whsec_wrong", now),
        "a signature ten minutes old": (WEBHOOK_SECRET, now - timedelta(minutes=10)),
    }
    headers = {"Content-Type": "application/json"}
    if secret != "no signature":
        key, moment = secrets[secret]
        headers["Stripe-Signature"] = sign(payload, key, moment)
    path = WEBHOOK_ENDPOINTS[endpoint]
    world.webhook_answer = world.client.post(path, content=payload, headers=headers)


@then(parsers.re(r"the event is (?P<outcome>accepted|refused: .+)$"))
def webhook_outcome(world: World, outcome: str) -> None:
    assert world.webhook_answer is not None, "no event was sent"
    assert_outcome(world.webhook_answer, outcome, accepted=200)
