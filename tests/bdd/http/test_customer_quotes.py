"""Steps for features/customer_quotes.feature: the public fee quote and the customer's
side only in public views."""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, scenarios, then, when

from tests.bdd.http.world import World
from tests.bdd.notation import parse_money

scenarios("customer_quotes.feature")

NOT_FOR_CUSTOMERS = ("application_fee", "tenant_receives", "fee_policy", "fee_bearer")


def _money(value: dict[str, Any]) -> tuple[int, str]:
    return value["amount"], value["currency"]


def _as_money(text: str) -> tuple[int, str]:
    money = parse_money(text)
    return money.amount, money.currency


@when(parsers.re(r"a customer asks what (?P<seats>\d+) seats would cost"))
def ask_for_a_quote(world: World, seats: str) -> None:
    response = world.client.get(
        f"/v1/public/{world.tenant_slug}/fee-quote",
        params={"offering_id": world.offering_id, "seats": seats},
    )
    assert response.status_code == 200, response.text
    world.checkout["public_quote"] = response.json()


@then(
    parsers.re(
        r"the customer is quoted a subtotal of (?P<subtotal>.+), a service fee of "
        r"(?P<fee>.+) and a total of (?P<total>.+)"
    )
)
def quoted(world: World, subtotal: str, fee: str, total: str) -> None:
    quote = world.checkout["public_quote"]
    assert _money(quote["subtotal"]) == _as_money(subtotal)
    assert _money(quote["service_fee"]) == _as_money(fee)
    assert _money(quote["customer_total"]) == _as_money(total)


@then("the quote shows nothing of what the business receives or the platform keeps")
def quote_is_the_customers_side(world: World) -> None:
    quote = world.checkout.pop("public_quote")
    assert not set(quote) & set(NOT_FOR_CUSTOMERS), quote


@then(parsers.re(r"the customer's booking shows a total of (?P<total>.+)"))
def booking_total(world: World, total: str) -> None:
    booking = world.booking()
    assert booking["status"] == "confirmed"
    assert _money(booking["quote"]["customer_total"]) == _as_money(total)


@then("the customer's booking shows nothing of what the business receives or the platform keeps")
def booking_is_the_customers_side(world: World) -> None:
    booking = world.booking()
    shown = str(booking)
    for name in NOT_FOR_CUSTOMERS:
        assert name not in shown, name


@then("the business's offerings, as customers see them, show no fee policy")
def offerings_show_no_fee_policy(world: World) -> None:
    response = world.client.get(f"/v1/public/{world.tenant_slug}/offerings")
    assert response.status_code == 200, response.text
    for offering in response.json()["data"]:
        assert "fee_policy" not in offering
