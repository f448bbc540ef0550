"""Steps for features/customer_cancellations.feature and features/refunds.feature, driven
through the HTTP API in-process with the fake gateway (which sends charge.refunded back to
the app while the refund is still being made)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from pytest_bdd import given, parsers, scenarios, then, when

from domain.money import exponent
from tests.bdd.http.conftest import _checkout, _create_tenant, fee_policy_json
from tests.bdd.http.world import World, assert_outcome
from tests.bdd.notation import (
    money_json,
    parse_duration,
    parse_money,
    parse_signed_money,
    windows_json,
)
from tests.support.gateway_doubles import GatewayLink
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.scopes import on_platform

pytestmark = pytest.mark.refunds

scenarios("customer_cancellations.feature", "refunds.feature")


@dataclass
class OutageWorld(World):
    container: Any = None
    link: GatewayLink | None = None


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The app with the fake gateway behind a link that a scenario can take down."""
    app, container = build_test_app(tmp_path, gateway_wrapper=GatewayLink)
    with TestClient(app=app, base_url=BASE_URL) as client:
        yield OutageWorld(client, container=container, link=container.gateway())


# The slot starts this much later than the table says, so that the seconds the scenario
# takes to run never carry the cancellation across a window's boundary.
MARGIN = timedelta(seconds=30)


def _detail(world: World) -> dict[str, Any]:
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


@when("the customer cancels with their booking link")
def customer_cancels(world: World) -> None:
    world.responses.append(
        world.client.post(
            f"/v1/public/bookings/{world.checkout['booking_id']}/cancel",
            params={"token": world.checkout["booking_token"]},
        )
    )


@when("the tenant cancels the booking")
def tenant_cancels(world: World) -> None:
    world.responses.append(
        world.client.post(
            f"/v1/tenant/bookings/{world.checkout['booking_id']}/cancel",
            json={"reason": "the teacher is ill"},
            headers=world.tenant(),
        )
    )


@when(parsers.re(r'the tenant refunds (?P<amount>.+) with retry key "(?P<key>[^"]+)" twice'))
def tenant_refunds_twice(world: World, amount: str, key: str) -> None:
    for _ in range(2):
        world.responses.append(
            world.client.post(
                f"/v1/tenant/bookings/{world.checkout['booking_id']}/refunds",
                json={"amount": money_json(amount)},
                headers=world.tenant() | {"Idempotency-Key": key},
            )
        )


@then("both refund answers are the same")
def same_refund_answers(world: World) -> None:
    first, second = world.responses[-2:]
    assert first.content == second.content


@when(parsers.re(r"the tenant refunds (?P<refunds>(?:(?!retry key).)+)$"))
def tenant_refunds(world: World, refunds: str) -> None:
    for part in refunds.split(","):
        body = {} if part.strip() == "the rest" else {"amount": money_json(part)}
        world.responses.append(
            world.client.post(
                f"/v1/tenant/bookings/{world.checkout['booking_id']}/refunds",
                json=body,
                headers=world.tenant(),
            )
        )


@when(
    parsers.re(
        r"(?P<amount>.+) is refunded in Stripe's dashboard (?P<fee>with|without) the "
        r"platform's fee"
    )
)
def dashboard_refund(world: World, amount: str, fee: str) -> None:
    payment_intent_id = _detail(world)["payment_intent"]
    response = world.client.post(
        f"/fake-stripe/payments/{payment_intent_id}/refund",
        json={"amount": parse_money(amount).amount, "refund_application_fee": fee == "with"},
    )
    assert response.status_code in (200, 201), response.text


@then(parsers.re(r"the cancellation is (?P<outcome>accepted|refused: .+)$"))
def cancellation_outcome(world: World, outcome: str) -> None:
    assert_outcome(world.last, outcome, accepted=200)


@then("every refund is accepted")
def every_refund_accepted(world: World) -> None:
    for answer in world.responses:
        assert_outcome(answer, "accepted", accepted=201)


@then(parsers.re(r"the last refund is (?P<outcome>accepted|refused: .+)$"))
def last_refund_outcome(world: World, outcome: str) -> None:
    for answer in world.responses[:-1]:
        assert_outcome(answer, "accepted", accepted=201)
    assert_outcome(world.last, outcome, accepted=201)


@then(
    parsers.re(
        r"the customer got back (?P<refund>.+) and the platform gave back (?P<fee>.+) of its fee"
    )
)
def customer_got_back(world: World, refund: str, fee: str) -> None:
    detail = _detail(world)
    assert detail["refunded"] == money_json(refund)
    ledger = detail["ledger"]
    refunds = sum(e["amount"]["amount"] for e in ledger if e["kind"] == "refund")
    fee_back = sum(e["amount"]["amount"] for e in ledger if e["kind"] == "application_fee_refund")
    assert refunds == parse_money(refund).amount
    assert fee_back == parse_money(fee).amount


@then("the booking's ledger has each refund once")
def each_refund_once(world: World) -> None:
    ledger = _detail(world)["ledger"]
    keys = [(e["kind"], e["gateway_ref"]) for e in ledger]
    assert len(keys) == len(set(keys))
    refund_refs = [e["gateway_ref"] for e in ledger if e["kind"] == "refund"]
    assert all(ref.startswith("re_") for ref in refund_refs), refund_refs
    events = world.client.get("/fake-stripe/events").json()["data"]
    assert len([e for e in events if e["type"] == "charge.refunded"]) == len(refund_refs)


@then("the slot has all its seats available again")
def all_seats_free(world: World) -> None:
    assert world.seats_available() == 4


def _statement_line(world: World, currency: str, **params: str) -> dict[str, Any] | None:
    response = world.client.get("/v1/tenant/statement", params=params, headers=world.tenant())
    assert response.status_code == 200, response.text
    lines = [line for line in response.json()["data"] if line["currency"] == currency.lower()]
    return lines[0] if lines else None


@then(
    parsers.re(
        r"the tenant's statement in (?P<currency>[A-Z]{3}) shows gross (?P<gross>.+), refunds "
        r"(?P<refunds>.+), fees (?P<fees>.+), fee refunds (?P<fee_refunds>.+) and net (?P<net>.+)"
    )
)
def statement_shows(
    world: World, currency: str, gross: str, refunds: str, fees: str, fee_refunds: str, net: str
) -> None:
    line = _statement_line(world, currency)
    assert line is not None
    expected = {
        "gross": parse_money(gross),
        "refunds": parse_money(refunds),
        "fees": parse_money(fees),
        "fee_refunds": parse_money(fee_refunds),
        "net": parse_signed_money(net),
    }
    for name, money in expected.items():
        assert line[name] == {"amount": money.amount, "currency": money.currency}, name
    assert line["bookings"] == 1
    amounts = {name: line[name]["amount"] for name in expected}
    assert amounts["net"] == (
        amounts["gross"] - amounts["refunds"] - amounts["fees"] + amounts["fee_refunds"]
    )
    world.checkout["statement"] = line


@then("the same statement as CSV has the same numbers, written as people read them")
def statement_as_csv(world: World) -> None:
    response = world.client.get(
        "/v1/tenant/statement", headers=world.tenant() | {"Accept": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    line = world.checkout["statement"]
    (row,) = [r for r in rows if r["currency"] == line["currency"].upper()]
    for name in ("gross", "refunds", "fees", "fee_refunds", "net"):
        # Major units with the currency's own decimals ("42.30"), never minor units.
        written = parse_signed_money(f"{row[name]} {row['currency']}")
        assert written.amount == line[name]["amount"], name
        assert len(row[name].partition(".")[2]) == exponent(row["currency"]), row[name]
    assert int(row["bookings"]) == line["bookings"]


@then(
    parsers.re(
        r"the platform's fee report shows fees (?P<fees>.+) and fee refunds (?P<fee_refunds>.+) "
        r"for the tenant"
    )
)
def fee_report_shows(world: World, fees: str, fee_refunds: str) -> None:
    response = world.client.get("/v1/admin/reports/fees", headers=world.admin())
    assert response.status_code == 200, response.text
    currency = parse_money(fees).currency
    lines = [
        line
        for line in response.json()["data"]
        if line["tenant_slug"] == world.tenant_slug and line["currency"] == currency
    ]
    assert len(lines) == 1, response.json()
    (line,) = lines
    assert line["fees"] == money_json(fees)
    assert line["fee_refunds"] == money_json(fee_refunds)
    earlier = world.client.get(
        "/v1/admin/reports/fees",
        params={"to": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
        headers=world.admin(),
    )
    assert earlier.status_code == 200, earlier.text
    assert not [x for x in earlier.json()["data"] if x["tenant_slug"] == world.tenant_slug]


@then("a statement of a period before the booking is empty")
def earlier_statement_is_empty(world: World) -> None:
    currency = world.checkout["statement"]["currency"]
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert _statement_line(world, currency, to=an_hour_ago) is None
    assert _statement_line(world, currency, **{"from": in_an_hour}) is None
    assert (
        _statement_line(world, currency, **{"from": an_hour_ago, "to": in_an_hour})
        == (world.checkout["statement"])
    )


def _link(world: World) -> GatewayLink:
    assert isinstance(world, OutageWorld)
    assert world.link is not None
    return world.link


@given(
    parsers.re(
        r"Stripe cannot be reached, and (?P<outage>never hears of the refund|"
        r"makes the refund but its answer is lost)"
    )
)
def stripe_unreachable(world: World, outage: str) -> None:
    link = _link(world)
    link.down, link.lands = True, outage.startswith("makes")


@then("the tenant is told nothing was confirmed yet and to try again")
def told_to_retry(world: World) -> None:
    assert world.last.status_code == 503, world.last.text
    assert world.last.headers["content-type"].startswith("application/problem+json")
    assert world.last.json()["type"] == "urn:bookpay:problem:gateway-outcome-unknown"
    assert "retry-after" in world.last.headers


@when(parsers.re(r"Stripe can be reached again and (?P<who>.+)"))
def stripe_back(world: World, who: str) -> None:
    assert isinstance(world, OutageWorld)
    _link(world).down = False
    booking_path = f"/v1/tenant/bookings/{world.checkout['booking_id']}"
    if who == "the tenant asks again":
        request = world.last.request
        body = request.content.decode() or "{}"
        world.responses.append(
            world.client.post(
                str(request.url.path),
                content=body,
                headers=world.tenant() | {"Content-Type": "application/json"},
            )
        )
    elif who == "the tenant refunds the rest":
        world.responses.append(
            world.client.post(f"{booking_path}/refunds", json={}, headers=world.tenant())
        )
    elif who == "the tenant cancels the booking":
        world.responses.append(
            world.client.post(f"{booking_path}/cancel", json={}, headers=world.tenant())
        )
    elif who == "reconciliation runs":
        reconcile = on_platform(world.container.reconcile())
        world.client.blocking_portal.call(reconcile)  # type: ignore[union-attr]
        return
    else:
        raise AssertionError(f"who tries again: {who!r}")
    assert world.last.status_code in (200, 201), world.last.text


@then("Stripe made each refund the booking shows, once")
def stripe_made_each_refund_once(world: World) -> None:
    assert isinstance(world, OutageWorld)
    container = world.container

    async def made_at_stripe() -> list[int]:
        async with container.uow()() as uow:
            booking = await uow.bookings.find_by_id(world.checkout["booking_id"])
        refunds = await container.fake_gateway().list_refunds(booking.payment_intent_id)
        return sorted(r.amount.amount for r in refunds)

    made = world.client.blocking_portal.call(on_platform(made_at_stripe))  # type: ignore[union-attr]
    ledger = _detail(world)["ledger"]
    shown = sorted(e["amount"]["amount"] for e in ledger if e["kind"] == "refund")
    assert made == shown
    assert sum(made) == _detail(world)["refunded"]["amount"]
