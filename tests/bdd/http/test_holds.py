"""Steps for features/holds.feature: the hold sweeper, lost and late webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient
from pytest_bdd import given, parsers, scenarios, then, when

from application.ports.gateway import WebhookEndpoint
from tests.bdd.http.conftest import other_customers_hold
from tests.bdd.http.world import World
from tests.bdd.notation import parse_money
from tests.fakes.clock import ManualClock
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.scopes import on_platform

scenarios("holds.feature")


class HoldsWorld(World):
    clock: ManualClock
    container: Any
    held_back: list[tuple[WebhookEndpoint, bytes, dict[str, str]]]
    deliver: Any
    losing: bool


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The HTTP app with a clock the scenario moves, and webhooks it can hold back."""
    app, container = build_test_app(tmp_path)
    clock = ManualClock(datetime.now(UTC))
    container.clock.override(providers.Object(clock))
    deliver = container.webhook_delivery()
    with TestClient(app=app, base_url=BASE_URL) as client:
        world = HoldsWorld(client)
        world.clock, world.container, world.held_back, world.losing = clock, container, [], False

        async def maybe_deliver(
            endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]
        ) -> int:
            if world.losing:
                world.held_back.append((endpoint, body, headers))
                return 503
            return int(await deliver(endpoint, body, headers))

        world.deliver = deliver
        container.webhook_delivery.override(providers.Object(maybe_deliver))
        yield world


@when(parsers.re(r"(?P<minutes>\d+) minutes pass and the hold sweeper runs"))
def time_passes_and_sweeper_runs(world: HoldsWorld, minutes: str) -> None:
    world.clock.advance(timedelta(minutes=int(minutes)))
    sweep = world.container.expire_lapsed_holds()
    world.client.blocking_portal.call(on_platform(sweep))


@then("the hosted checkout page no longer takes a payment")
def checkout_closed(world: World) -> None:
    page = world.client.get(world.checkout["checkout_url"])
    assert "expired" in page.text
    paid = world.client.post(
        world.checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code >= 400


@given("Stripe's webhooks are not arriving")
def webhooks_lost(world: HoldsWorld) -> None:
    world.losing = True


@given("the customer pays on the hosted checkout page")
def customer_paid(world: World) -> None:
    paid = world.client.post(
        world.checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text


@given("the booking's hold is released before the payment is recorded")
def hold_released(world: HoldsWorld) -> None:
    async def release() -> None:
        async with world.container.uow()() as uow:
            booking = await uow.bookings.find_by_id(world.checkout["booking_id"])
            await uow.bookings.update(booking.expire())
            await uow.slots.release_hold(booking.tenant_id, booking.slot_id, booking.seats)
            await uow.commit()

    world.client.blocking_portal.call(on_platform(release))


@given(parsers.re(r"other customers take (?P<taken>\d+) seats of the slot"))
def others_take_seats(world: World, taken: str) -> None:
    if int(taken) == 0:
        return
    other_customers_hold(world, int(taken))


@when("Stripe's webhooks arrive again")
def webhooks_arrive(world: HoldsWorld) -> None:
    world.losing = False
    for endpoint, body, headers in world.held_back:
        status = world.client.blocking_portal.call(world.deliver, endpoint, body, headers)
        assert status == 200


@then(parsers.re(r"the customer got (?P<refund>.+) back"))
def customer_refund(world: World, refund: str) -> None:
    expected = parse_money(refund)
    assert world.booking()["refunded"] == {
        "amount": expected.amount,
        "currency": expected.currency,
    }
