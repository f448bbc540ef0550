"""Issue 13, over HTTP on SQLite and PostgreSQL: Stripe's amount limits hold before any hold,
and every write validates its timezone, country, slot start and currency."""

from __future__ import annotations

import uuid
from datetime import timedelta, timezone
from typing import Any

import pytest
from dependency_injector import providers

from application.errors import GatewayInvalidRequest
from application.ports.gateway import CheckoutRequest, CheckoutSession
from entrypoints.container import Container
from tests.integration.http.fees.shop import ADMIN, STARTS, open_shop, problem, usd
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL

pytestmark = pytest.mark.fees


# --- What was seen 5: Stripe's maximum charge -------------------------------------------


@pytest.mark.parametrize(
    ("price", "capacity", "seats"),
    [
        pytest.param(usd(15_000_000), 10, 10, id="1,500,000.00 USD"),
        pytest.param({"amount": 50_000_000, "currency": "jpy"}, 2, 2, id="100,000,000 JPY"),
    ],
)
async def test_a_total_above_stripes_maximum_is_refused_before_any_hold(
    client: AppClient, price: dict[str, Any], capacity: int, seats: int
) -> None:
    shop = await open_shop(client, {"percent_bps": 500})
    # Sold whole, so that Stripe's maximum is the limit this test meets.
    offering_id = await shop.new_offering(price, capacity, max_seats_per_booking=capacity)
    slot_id = await shop.new_slot(offering_id)

    assert "maximum" in problem(await shop.checkout(slot_id, seats), 422)
    assert "maximum" in problem(
        await shop.checkout(slot_id, seats, key="big-order-0c5e1f7a-3b2d-4c11-9f0e"), 422
    )
    assert await shop.seats_available(offering_id, slot_id) == capacity
    problem(await shop.quote(offering_id, seats), 422)


async def test_a_total_at_stripes_maximum_is_sold(client: AppClient) -> None:
    shop = await open_shop(client, {"percent_bps": 500, "bearer": "tenant"})
    offering_id = await shop.new_offering(usd(99_999_999), 1)
    slot_id = await shop.new_slot(offering_id)
    sold = await shop.checkout(slot_id, 1)
    assert sold.status_code == 201, sold.text
    assert sold.json()["quote"]["customer_total"] == usd(99_999_999)


async def test_a_price_per_seat_above_the_maximum_is_refused(
    client: AppClient,
) -> None:
    shop = await open_shop(client, {"percent_bps": 500})
    problem(await shop.offering(usd(100_000_000)), 422)


class RefusingGateway:
    """The real (fake) gateway, except that Stripe refuses every Checkout Session as invalid."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        raise GatewayInvalidRequest("amount_too_large: Amount must be no more than $999,999.99")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize(
    "key", [None, "order-1-5a0d6c2e-8f31-4b7a-a2c9"], ids=["without key", "with key"]
)
async def test_a_session_the_gateway_refuses_releases_the_seats_at_once(
    app_and_container: tuple[Any, Container], key: str | None
) -> None:
    app, container = app_and_container
    container.gateway.override(providers.Singleton(RefusingGateway, container.fake_gateway))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        offering_id = await shop.new_offering(usd(2000), 4)
        slot_id = await shop.new_slot(offering_id)

        refused = await shop.checkout(slot_id, 2, key=key)
        assert refused.status_code == 502, refused.text
        assert await shop.seats_available(offering_id, slot_id) == 4


# --- What was seen 7: validation at every write -----------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("timezone", "Mars/Olympus"), ("country", "ZZ"), ("timezone", "")],
)
async def test_a_tenant_needs_a_real_timezone_and_country(
    client: AppClient, field: str, value: str
) -> None:
    body = {
        "name": "Studio",
        "slug": f"studio-{uuid.uuid4().hex[:8]}",
        "country": "DE",
        "default_currency": "eur",
        "timezone": "Europe/Berlin",
    }
    response = await client.post("/v1/admin/tenants", json=body | {field: value}, headers=ADMIN)
    assert response.status_code in (400, 422), response.text
    listed = await client.get("/v1/admin/tenants", headers=ADMIN)
    assert listed.json()["data"] == []


async def test_a_real_timezone_and_country_are_accepted(client: AppClient) -> None:
    shop = await open_shop(client, country="de", timezone="Europe/Berlin")
    tenant = (await client.get(f"/v1/admin/tenants/{shop.id}", headers=ADMIN)).json()
    assert (tenant["country"], tenant["timezone"]) == ("DE", "Europe/Berlin")


async def test_an_offering_has_one_slot_per_start(client: AppClient) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    await shop.new_slot(offering_id, STARTS)

    assert STARTS.isoformat()[:16] in problem(await shop.slots(offering_id, STARTS), 409)
    later = STARTS + timedelta(hours=2)
    problem(await shop.slots(offering_id, later, later), 409)
    # The same instant written in another offset is the same start.
    problem(await shop.slots(offering_id, STARTS.astimezone(timezone(timedelta(hours=2)))), 409)
    listed = await client.get(f"/v1/public/{shop.slug}/offerings/{offering_id}/slots")
    assert len(listed.json()["data"]) == 1
    # Another offering may start at the same time.
    other = await shop.new_offering(usd(2000))
    await shop.new_slot(other, STARTS)


@pytest.mark.parametrize("starts_at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"])
async def test_a_start_outside_what_utc_can_write_is_refused_not_a_server_error(
    client: AppClient, starts_at: str
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    refused = await client.post(
        f"/v1/tenant/offerings/{offering_id}/slots",
        json={"slots": [{"starts_at": starts_at}]},
        headers=shop.auth,
    )
    assert "out of range" in problem(refused, 422)


async def test_an_offerings_currency_is_fixed_once_it_has_slots(
    client: AppClient,
) -> None:
    shop = await open_shop(
        client,
        {"percent_bps": 500, "by_currency": {"eur": {"fixed": {"amount": 25, "currency": "eur"}}}},
    )
    offering_id = await shop.new_offering(usd(2000))
    eur = {"amount": 1800, "currency": "eur"}
    repriced = await shop.patch(offering_id, {"price": eur})  # no slots yet: allowed
    assert repriced.status_code == 200, repriced.text
    await shop.new_slot(offering_id)

    assert "currency" in problem(await shop.patch(offering_id, {"price": usd(2000)}), 409)
    same_currency = await shop.patch(offering_id, {"price": {"amount": 1900, "currency": "eur"}})
    assert same_currency.status_code == 200, same_currency.text
