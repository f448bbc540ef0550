"""Steps the two features about giving a paid booking's money back share
(features/customer_cancellations.feature, features/refunds.feature), driven through the
HTTP API in-process with the fake gateway behind a link a scenario can take down: a tenant
with a fee refund mode, an offering with a cancellation policy, a booking paid for, the
tenant cancelling it, and what went back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from pytest_bdd import given, parsers, then, when

from tests.bdd.http.conftest import _checkout, _create_tenant, fee_policy_json
from tests.bdd.http.world import World
from tests.bdd.notation import (
    money_json,
    parse_duration,
    parse_money,
    windows_json,
)
from tests.support.gateway_doubles import GatewayLink
from tests.support.http_app import BASE_URL, build_test_app


@dataclass
class OutageWorld(World):
    container: Any = None
    link: GatewayLink | None = None


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The app with the fake gateway behind a link that a scenario can take down."""
    app, container = build_test_app(tmp_path, gateway_wrapper=GatewayLink)
    with TestClient(app=app, base_url=BASE_URL) as client:
        link = container.gateway()
        assert isinstance(link, GatewayLink)
        yield OutageWorld(client, container=container, link=link)


# The slot starts this much later than the table says, so that the seconds the scenario
# takes to run never carry the cancellation across a window's boundary.
MARGIN = timedelta(seconds=30)


def booking_detail(world: World) -> dict[str, Any]:
    response = world.client.get(
        f"/v1/tenant/bookings/{world.checkout['booking_id']}", headers=world.tenant()
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@given(
    parsers.re(
        r'a tenant that can take charges, with fee policy "(?P<policy>[^"]+)" borne by the '
        r'(?P<bearer>customer|tenant) and fee refund "(?P<mode>proportional|never)"'
    )
)
def tenant_with_refund_mode(world: World, policy: str, bearer: str, mode: str) -> None:
    world.tenant_slug = f"studio-{uuid.uuid4().hex[:8]}"
    fee_policy = fee_policy_json(policy, bearer) | {"refund_on_cancel": mode}
    world.tenant_key = _create_tenant(world, world.tenant_slug, fee_policy)
    link = world.client.post("/v1/tenant/connect/onboarding-link", headers=world.tenant())
    assert link.status_code == 200, link.text
    done = world.client.post(link.json()["url"], follow_redirects=False)
    assert done.status_code == 303, done.text


@given(
    parsers.re(
        r'an offering priced at (?P<price>.+) with cancellation policy "(?P<windows>[^"]*)" '
        r"and a slot that starts in (?P<starts_in>.+)"
    )
)
def offering_with_policy(world: World, price: str, windows: str, starts_in: str) -> None:
    body: dict[str, Any] = {
        "name": "Session",
        "price": money_json(price),
        "duration_minutes": 60,
        "capacity": 4,
    }
    if policy := windows_json(windows):
        body["cancellation_policy"] = policy
    offering = world.client.post("/v1/tenant/offerings", json=body, headers=world.tenant())
    assert offering.status_code == 201, offering.text
    world.offering_id = offering.json()["id"]
    starts_at = datetime.now(UTC) + parse_duration(starts_in) + MARGIN
    slots = world.client.post(
        f"/v1/tenant/offerings/{world.offering_id}/slots",
        json={"starts_at": starts_at.isoformat()},
        headers=world.tenant(),
    )
    assert slots.status_code == 201, slots.text
    world.slot_id = slots.json()["data"][0]["id"]


@given(parsers.re(r"a customer has paid for (?P<seats>\d+) seats, (?P<paid>.+) in all"))
def customer_has_paid(world: World, seats: str, paid: str) -> None:
    _checkout(world, int(seats))
    assert world.last.status_code == 201, world.last.text
    assert world.checkout["quote"]["customer_total"] == money_json(paid)
    response = world.client.post(
        world.checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert world.booking()["status"] == "confirmed"
    world.responses.clear()


@when("the tenant cancels the booking")
def tenant_cancels(world: World) -> None:
    world.responses.append(
        world.client.post(
            f"/v1/tenant/bookings/{world.checkout['booking_id']}/cancel",
            json={"reason": "the teacher is ill"},
            headers=world.tenant(),
        )
    )


@then(
    parsers.re(
        r"the customer got back (?P<refund>.+) and the platform gave back (?P<fee>.+) of its fee"
    )
)
def customer_got_back(world: World, refund: str, fee: str) -> None:
    detail = booking_detail(world)
    assert detail["refunded"] == money_json(refund)
    ledger = detail["ledger"]
    refunds = sum(e["amount"]["amount"] for e in ledger if e["kind"] == "refund")
    fee_back = sum(e["amount"]["amount"] for e in ledger if e["kind"] == "application_fee_refund")
    assert refunds == parse_money(refund).amount
    assert fee_back == parse_money(fee).amount


@then("the booking's ledger has each refund once")
def each_refund_once(world: World) -> None:
    ledger = booking_detail(world)["ledger"]
    keys = [(e["kind"], e["gateway_ref"]) for e in ledger]
    assert len(keys) == len(set(keys))
    refund_refs = [e["gateway_ref"] for e in ledger if e["kind"] == "refund"]
    assert all(ref.startswith("re_") for ref in refund_refs), refund_refs
    events = world.client.get("/fake-stripe/events").json()["data"]
    assert len([e for e in events if e["type"] == "charge.refunded"]) == len(refund_refs)
