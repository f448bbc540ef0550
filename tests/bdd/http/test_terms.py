"""Steps for features/terms.feature and features/slots.feature, through the HTTP API
in-process with the fake gateway."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.bdd.http.conftest import _create_tenant, checkout_by_another_customer, fee_policy_json
from tests.bdd.http.world import World
from tests.bdd.notation import money_json, parse_duration, parse_money, windows_json

pytestmark = [pytest.mark.terms, pytest.mark.slots]

scenarios("terms.feature", "slots.feature")

# The class starts this much later than the table says, so that the seconds a scenario
# takes never carry a cancellation across a window's boundary.
MARGIN = timedelta(seconds=30)
CAPACITY = 4


@dataclass
class Sales:
    """The checkouts of the scenario's customers, in the order they were made."""

    checkouts: list[dict[str, Any]] = field(default_factory=list)
    paid: list[dict[str, Any]] = field(default_factory=list)
    unpaid: list[dict[str, Any]] = field(default_factory=list)
    answers: list[httpx.Response] = field(default_factory=list)


@pytest.fixture
def sales() -> Sales:
    return Sales()


# Each customer of a scenario checks out from an address of their own (the seats one address
# holds of a slot are counted).
_CUSTOMERS = itertools.count()


def _checkout(world: World, seats: int) -> dict[str, Any]:
    response = checkout_by_another_customer(world, seats, next(_CUSTOMERS) % 250 + 1)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _pay(world: World, checkout: dict[str, Any]) -> None:
    paid = world.client.post(
        checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text


def _booking(world: World, checkout: dict[str, Any]) -> dict[str, Any]:
    response = world.client.get(
        f"/v1/tenant/bookings/{checkout['booking_id']}", headers=world.tenant()
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _customer_cancels(world: World, checkout: dict[str, Any]) -> httpx.Response:
    return world.client.post(
        f"/v1/public/bookings/{checkout['booking_id']}/cancel",
        params={"token": checkout["booking_token"]},
    )


# --- the business and what it sells ------------------------------------------------------


@given(
    parsers.re(
        r'a business that can take charges, with a service fee of "(?P<policy>[^"]+)" paid by '
        r"the customer"
    )
)
def business(world: World, policy: str) -> None:
    world.tenant_slug = f"studio-{uuid.uuid4().hex[:8]}"
    world.tenant_key = _create_tenant(world, world.tenant_slug, fee_policy_json(policy, "customer"))
    link = world.client.post("/v1/tenant/connect/onboarding-link", headers=world.tenant())
    done = world.client.post(link.json()["url"], follow_redirects=False)
    assert done.status_code == 303, done.text


@given(
    parsers.re(
        r"the business sells a class at (?P<price>.+) under the cancellation policy "
        r'"(?P<policy>[^"]*)", starting in (?P<starts_in>.+)'
    )
)
def class_for_sale(world: World, price: str, policy: str, starts_in: str) -> None:
    body: dict[str, Any] = {
        "name": "Class",
        "price": money_json(price),
        "duration_minutes": 60,
        "capacity": CAPACITY,
        "cancellation_policy": windows_json(policy),
    }
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


@when(parsers.re(r'the business changes the cancellation policy to "(?P<policy>[^"]*)"'))
def policy_changes(world: World, policy: str) -> None:
    changed = world.client.patch(
        f"/v1/tenant/offerings/{world.offering_id}",
        json={"cancellation_policy": windows_json(policy)},
        headers=world.tenant(),
    )
    assert changed.status_code == 200, changed.text


# --- customers ---------------------------------------------------------------------------


@given(parsers.re(r"a first customer has paid for (?P<seats>\d+) seats"))
@when(parsers.re(r"a second customer pays for (?P<seats>\d+) seats"))
def customer_pays(world: World, sales: Sales, seats: str) -> None:
    checkout = _checkout(world, int(seats))
    _pay(world, checkout)
    sales.paid.append(checkout)


@when("both customers cancel")
def both_cancel(world: World, sales: Sales) -> None:
    sales.answers = [_customer_cancels(world, checkout) for checkout in sales.paid]


@then(parsers.re(r"the (?P<which>first|second) customer gets (?P<refund>.+) back"))
def customer_gets_back(world: World, sales: Sales, which: str, refund: str) -> None:
    index = 0 if which == "first" else 1
    answer, checkout = sales.answers[index], sales.paid[index]
    booking = _booking(world, checkout)
    if refund == "refused":
        assert answer.status_code == 409, answer.text
        assert booking["status"] == "confirmed"
        assert booking["refunded"]["amount"] == 0
        return
    assert answer.status_code == 200, answer.text
    assert booking["status"] == "cancelled"
    assert booking["refunded"] == money_json(refund)
    refunds = [e["amount"] for e in booking["ledger"] if e["kind"] == "refund"]
    assert refunds == ([money_json(refund)] if parse_money(refund).amount else [])


@given(
    parsers.re(
        r"a customer has started paying for (?P<seats>\d+) seats of the (?P<capacity>\d+) "
        r"in the class"
    )
)
def customer_started_paying(world: World, sales: Sales, seats: str, capacity: str) -> None:
    assert int(capacity) == CAPACITY
    sales.unpaid.append(_checkout(world, int(seats)))


@when(parsers.re(r"(?P<who>the customer|the business) gives up the unpaid booking"))
def gives_up(world: World, sales: Sales, who: str) -> None:
    (checkout,) = sales.unpaid
    if who == "the customer":
        answer = _customer_cancels(world, checkout)
    else:
        answer = world.client.post(
            f"/v1/tenant/bookings/{checkout['booking_id']}/cancel",
            json={"reason": "no longer needed"},
            headers=world.tenant(),
        )
    assert answer.status_code == 200, answer.text
    sales.answers.append(answer)


@then("the booking has expired")
def booking_expired(world: World, sales: Sales) -> None:
    (checkout,) = sales.unpaid
    assert _booking(world, checkout)["status"] == "expired"


@then(parsers.re(r"the class has (?P<left>\d+) seats available"))
def class_has_seats(world: World, left: str) -> None:
    assert world.seats_available() == int(left)


@then("the customer can no longer pay for it")
def can_no_longer_pay(world: World, sales: Sales) -> None:
    (checkout,) = sales.unpaid
    paid = world.client.post(
        checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code >= 400
    assert _booking(world, checkout)["status"] == "expired"


# --- slots -------------------------------------------------------------------------------


@given(
    parsers.re(
        r"customers are paying for (?P<unpaid>\d+) seats and have paid for (?P<paid>\d+) seats"
    )
)
def seats_taken(world: World, sales: Sales, unpaid: str, paid: str) -> None:
    for _ in range(int(paid)):
        checkout = _checkout(world, 1)
        _pay(world, checkout)
        sales.paid.append(checkout)
    if int(unpaid):
        sales.unpaid.append(_checkout(world, int(unpaid)))


@when(parsers.re(r"the business changes the class to (?P<seats>\d+) seats"))
def change_capacity(world: World, sales: Sales, seats: str) -> None:
    sales.answers.append(
        world.client.patch(
            f"/v1/tenant/slots/{world.slot_id}",
            json={"capacity": int(seats)},
            headers=world.tenant(),
        )
    )


@then(parsers.re(r"the change is (?P<outcome>accepted|refused: the seats are taken)"))
def change_outcome(sales: Sales, outcome: str) -> None:
    answer = sales.answers[-1]
    if outcome == "accepted":
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 409, answer.text
        assert "held or booked" in answer.json()["detail"]


@when(parsers.re(r"the business cancels the class(?: again)?"))
def cancel_class(world: World, sales: Sales) -> None:
    answer = world.client.post(
        f"/v1/tenant/slots/{world.slot_id}/cancel",
        json={"reason": "the teacher is ill"},
        headers=world.tenant(),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    sales.answers.append(answer)


@then(parsers.re(r"every paid booking is cancelled and its customer got (?P<refund>.+) back, once"))
def paid_cancelled(world: World, sales: Sales, refund: str) -> None:
    for checkout in sales.paid:
        booking = _booking(world, checkout)
        assert booking["status"] == "cancelled"
        assert booking["refunded"] == money_json(refund)
        refunds = [e["amount"] for e in booking["ledger"] if e["kind"] == "refund"]
        assert refunds == [money_json(refund)]


@then("every unpaid booking has expired")
def unpaid_expired(world: World, sales: Sales) -> None:
    for checkout in sales.unpaid:
        assert _booking(world, checkout)["status"] == "expired"


@then("the class sells no more seats")
def sells_no_more(world: World) -> None:
    assert world.seats_available() == 0
    refused = world.client.post(
        f"/v1/public/{world.tenant_slug}/checkout",
        json={"slot_id": world.slot_id, "seats": 1, "customer": {"email": "e@f.example"}},
    )
    assert refused.status_code == 409, refused.text
    assert "cancelled" in refused.json()["detail"]
