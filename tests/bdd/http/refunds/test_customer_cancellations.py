"""Steps for features/customer_cancellations.feature, driven through the HTTP API in-process
with the fake gateway (which sends charge.refunded back to the app while the refund is still
being made); the steps it shares with refunds.feature are in this folder's conftest.py."""

from __future__ import annotations

import pytest
from pytest_bdd import parsers, scenarios, then, when

from tests.bdd.http.world import World, assert_outcome

pytestmark = pytest.mark.refunds

scenarios("customer_cancellations.feature")


@when("the customer cancels with their booking link")
def customer_cancels(world: World) -> None:
    world.responses.append(
        world.client.post(
            f"/v1/public/bookings/{world.checkout['booking_id']}/cancel",
            params={"token": world.checkout["booking_token"]},
        )
    )


@then(parsers.re(r"the cancellation is (?P<outcome>accepted|refused: .+)$"))
def cancellation_outcome(world: World, outcome: str) -> None:
    assert_outcome(world.last, outcome, accepted=200)


@then("the slot has all its seats available again")
def all_seats_free(world: World) -> None:
    assert world.seats_available() == 4
