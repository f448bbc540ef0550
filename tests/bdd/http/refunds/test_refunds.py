"""Steps for features/refunds.feature, driven through the HTTP API in-process with the fake
gateway (which sends charge.refunded back to the app while the refund is still being made);
the steps it shares with customer_cancellations.feature are in this folder's conftest.py."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from domain.money import exponent
from tests.bdd.http.refunds.conftest import OutageWorld, booking_detail
from tests.bdd.http.world import World, assert_outcome
from tests.bdd.notation import (
    money_json,
    parse_money,
    parse_signed_money,
)
from tests.support.gateway_doubles import GatewayLink
from tests.support.scopes import on_platform

pytestmark = pytest.mark.refunds

scenarios("refunds.feature")


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
    payment_intent_id = booking_detail(world)["payment_intent"]
    response = world.client.post(
        f"/fake-stripe/payments/{payment_intent_id}/refund",
        json={"amount": parse_money(amount).amount, "refund_application_fee": fee == "with"},
    )
    assert response.status_code in (200, 201), response.text


@then("every refund is accepted")
def every_refund_accepted(world: World) -> None:
    for answer in world.responses:
        assert_outcome(answer, "accepted", accepted=201)


@then(parsers.re(r"the last refund is (?P<outcome>accepted|refused: .+)$"))
def last_refund_outcome(world: World, outcome: str) -> None:
    for answer in world.responses[:-1]:
        assert_outcome(answer, "accepted", accepted=201)
    assert_outcome(world.last, outcome, accepted=201)


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
        world.client.blocking_portal.call(reconcile)
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

    made = world.client.blocking_portal.call(on_platform(made_at_stripe))
    ledger = booking_detail(world)["ledger"]
    shown = sorted(e["amount"]["amount"] for e in ledger if e["kind"] == "refund")
    assert made == shown
    assert sum(made) == booking_detail(world)["refunded"]["amount"]
