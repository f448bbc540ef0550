"""Issue 13, over HTTP on SQLite and PostgreSQL: the platform owns its fee, every active
offering stays quotable, Stripe's amount limits hold before any hold, and every write
validates its timezone, country, slot start and currency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from application.errors import GatewayInvalidRequest
from application.ports.gateway import CheckoutRequest, CheckoutSession
from entrypoints.container import Container
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app

pytestmark = pytest.mark.fees

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("fresh_postgres_url", id="postgres", marks=pytest.mark.postgres),
]
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
PROBLEM = "application/problem+json"
STARTS = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


def usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "usd"}


class Shop:
    """A tenant's side of the API, and the customer's view of its shop."""

    def __init__(self, client: AsyncTestClient[Any], slug: str, key: str, tenant_id: str) -> None:
        self.client = client
        self.slug = slug
        self.id = tenant_id
        self.auth = {"Authorization": f"Bearer {key}"}

    async def offering(self, price: dict[str, Any], capacity: int = 5, **more: Any) -> Any:
        body = {"name": "Class", "price": price, "duration_minutes": 60, "capacity": capacity}
        return await self.client.post("/v1/tenant/offerings", json=body | more, headers=self.auth)

    async def new_offering(self, price: dict[str, Any], capacity: int = 5) -> str:
        response = await self.offering(price, capacity)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def slots(self, offering_id: str, *starts: datetime) -> Any:
        body = {"slots": [{"starts_at": start.isoformat()} for start in starts]}
        return await self.client.post(
            f"/v1/tenant/offerings/{offering_id}/slots", json=body, headers=self.auth
        )

    async def new_slot(self, offering_id: str, start: datetime = STARTS) -> str:
        response = await self.slots(offering_id, start)
        assert response.status_code == 201, response.text
        return str(response.json()["data"][0]["id"])

    async def patch(self, offering_id: str, changes: dict[str, Any]) -> Any:
        return await self.client.patch(
            f"/v1/tenant/offerings/{offering_id}", json=changes, headers=self.auth
        )

    async def quote(self, offering_id: str, seats: int = 1) -> Any:
        return await self.client.get(
            "/v1/tenant/fee-quote",
            params={"offering_id": offering_id, "seats": seats},
            headers=self.auth,
        )

    async def checkout(self, slot_id: str, seats: int, key: str | None = None) -> Any:
        return await self.client.post(
            f"/v1/public/{self.slug}/checkout",
            json={"slot_id": slot_id, "seats": seats, "customer": {"email": "ada@example.com"}},
            headers={"Idempotency-Key": key} if key else {},
        )

    async def seats_available(self, offering_id: str, slot_id: str) -> int:
        response = await self.client.get(f"/v1/public/{self.slug}/offerings/{offering_id}/slots")
        assert response.status_code == 200, response.text
        (slot,) = [s for s in response.json()["data"] if s["id"] == slot_id]
        return int(slot["seats_available"])

    async def set_policy(self, policy: dict[str, Any]) -> Any:
        return await self.client.put(
            f"/v1/admin/tenants/{self.id}/fee-policy", json=policy, headers=ADMIN
        )

    async def set_override(self, offering_id: str, policy: dict[str, Any]) -> Any:
        return await self.client.put(
            f"/v1/admin/tenants/{self.id}/offerings/{offering_id}/fee-policy",
            json=policy,
            headers=ADMIN,
        )

    async def end_override(self, offering_id: str) -> Any:
        return await self.client.delete(
            f"/v1/admin/tenants/{self.id}/offerings/{offering_id}/fee-policy", headers=ADMIN
        )


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
def app_and_container(database_url: str | None, tmp_path: Path) -> tuple[Any, Container]:
    return build_test_app(tmp_path, database_url)


@pytest.fixture
async def client(app_and_container: tuple[Any, Container]) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=app_and_container[0], base_url=BASE_URL) as test_client:
        yield test_client


async def open_shop(
    client: AsyncTestClient[Any], policy: dict[str, Any] | None = None, **tenant: Any
) -> Shop:
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    body = {
        "name": "Studio",
        "slug": slug,
        "country": "US",
        "default_currency": "usd",
        "timezone": "America/New_York",
        "fee_policy": policy or {"percent_bps": 500, "fixed": usd(30)},
    }
    created = await client.post("/v1/admin/tenants", json=body | tenant, headers=ADMIN)
    assert created.status_code == 201, created.text
    shop = Shop(client, slug, created.json()["api_key"], created.json()["tenant"]["id"])
    link = await client.post("/v1/tenant/connect/onboarding-link", headers=shop.auth)
    assert (await client.post(link.json()["url"], follow_redirects=False)).status_code == 303
    return shop


def problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "Traceback" not in response.text
    return str(response.json()["detail"])


# --- What was seen 1: the platform owns the fee ----------------------------------------


async def test_a_tenant_cannot_set_the_fee_on_a_new_offering(client: AsyncTestClient[Any]) -> None:
    shop = await open_shop(client)
    response = await shop.offering(usd(2000), fee_policy={"percent_bps": 0})
    assert "platform" in problem(response, 403)
    listed = await client.get("/v1/tenant/offerings", headers=shop.auth)
    assert listed.json()["data"] == []


async def test_a_tenant_cannot_set_or_clear_the_fee_of_its_offering(
    client: AsyncTestClient[Any],
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    for change in ({"percent_bps": 0}, None):
        problem(await shop.patch(offering_id, {"fee_policy": change}), 403)
    quote = (await shop.quote(offering_id)).json()
    assert quote["service_fee"] == usd(130)  # 5 % of 20.00 + 0.30: the platform's fee


async def test_the_platform_overrides_one_offering_and_quotes_name_the_policy(
    client: AsyncTestClient[Any],
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    before = (await shop.quote(offering_id)).json()
    assert before["fee_policy"] == {"id": shop.id, "version": 1, "scope": "tenant"}
    assert before["fee_policy_version"] == 1

    set_ = await shop.set_override(offering_id, {"percent_bps": 1000})
    assert set_.status_code == 200, set_.text
    assert set_.json() | {"policy": None} == {
        "id": offering_id,
        "version": 1,
        "scope": "offering",
        "policy": None,
    }
    again = await shop.set_override(offering_id, {"percent_bps": 800})
    assert again.json()["version"] == 2

    quote = (await shop.quote(offering_id)).json()
    assert quote["service_fee"] == usd(160)
    assert quote["fee_policy"] == {"id": offering_id, "version": 2, "scope": "offering"}
    assert quote["fee_policy_version"] == 2

    slot_id = await shop.new_slot(offering_id)
    sold = await shop.checkout(slot_id, 1)
    assert sold.status_code == 201, sold.text
    booking = await client.get(
        f"/v1/tenant/bookings/{sold.json()['booking_id']}", headers=shop.auth
    )
    assert booking.json()["quote"]["fee_policy"] == quote["fee_policy"]

    ended = await shop.end_override(offering_id)
    assert ended.status_code == 200, ended.text
    assert (ended.json()["id"], ended.json()["scope"]) == (shop.id, "tenant")
    after = (await shop.quote(offering_id)).json()
    assert after["fee_policy"] == {"id": shop.id, "version": 1, "scope": "tenant"}
    # The booking keeps the policy it was sold under.
    booking = await client.get(
        f"/v1/tenant/bookings/{sold.json()['booking_id']}", headers=shop.auth
    )
    assert booking.json()["quote"]["fee_policy"] == quote["fee_policy"]


async def test_overrides_are_the_admins_alone(client: AsyncTestClient[Any]) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    path = f"/v1/admin/tenants/{shop.id}/offerings/{offering_id}/fee-policy"
    response = await client.put(path, json={"percent_bps": 0}, headers=shop.auth)
    assert response.status_code == 401, response.text
    missing = await shop.set_override("of_missing", {"percent_bps": 0})
    problem(missing, 404)


# --- What was seen 2: every active offering stays quotable ------------------------------


async def test_a_fixed_fee_in_another_currency_is_refused_naming_the_offering(
    client: AsyncTestClient[Any],
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    eur = {"percent_bps": 500, "fixed": {"amount": 30, "currency": "eur"}}

    assert offering_id in problem(await shop.set_policy(eur), 422)
    assert offering_id in problem(await shop.set_override(offering_id, eur), 422)
    slot_id = await shop.new_slot(offering_id)
    assert (await shop.checkout(slot_id, 1)).status_code == 201  # still sold as before


async def test_a_tenant_cannot_reprice_into_a_currency_its_fee_cannot_price(
    client: AsyncTestClient[Any],
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    gbp = {"amount": 1500, "currency": "gbp"}

    assert offering_id in problem(await shop.patch(offering_id, {"price": gbp}), 422)
    problem(await shop.offering(gbp), 422)
    quote = await shop.quote(offering_id)
    assert quote.status_code == 200, quote.text


async def test_a_tenant_selling_in_two_currencies_has_a_fixed_fee_in_each(
    client: AsyncTestClient[Any],
) -> None:
    policy = {
        "percent_bps": 500,
        "fixed": usd(30),
        "by_currency": {"eur": {"fixed": {"amount": 25, "currency": "eur"}}},
    }
    shop = await open_shop(client, policy)
    in_usd = await shop.new_offering(usd(2000))
    in_eur = await shop.new_offering({"amount": 2000, "currency": "eur"})
    assert (await shop.quote(in_usd)).json()["service_fee"] == usd(130)
    assert (await shop.quote(in_eur)).json()["service_fee"] == {"amount": 125, "currency": "eur"}

    tenant = await client.get(f"/v1/admin/tenants/{shop.id}", headers=ADMIN)
    by_currency = tenant.json()["fee_policy"]["policy"]["by_currency"]
    assert by_currency["eur"]["fixed"] == {"amount": 25, "currency": "eur"}
    # Dropping the euro amounts would leave the euro offering unpriced: refused.
    detail = problem(await shop.set_policy({"percent_bps": 500, "fixed": usd(30)}), 422)
    assert in_eur in detail
    assert in_usd not in detail


async def test_an_archived_offering_does_not_hold_back_a_new_policy(
    client: AsyncTestClient[Any],
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    archived = await client.delete(f"/v1/tenant/offerings/{offering_id}", headers=shop.auth)
    assert archived.status_code == 200
    response = await shop.set_policy({"fixed": {"amount": 30, "currency": "eur"}})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2


async def test_a_fee_change_and_a_price_change_at_once_never_leave_an_offering_unpriced(
    client: AsyncTestClient[Any],
) -> None:
    both = {
        "percent_bps": 500,
        "fixed": usd(30),
        "by_currency": {"eur": {"fixed": {"amount": 25, "currency": "eur"}}},
    }
    usd_only = {"percent_bps": 500, "fixed": usd(30)}
    for _ in range(5):
        shop = await open_shop(client, both)
        offering_id = await shop.new_offering(usd(2000))
        # Each alone is fine; together they would leave a euro offering without a euro fee.
        policy, price = await asyncio.gather(
            shop.set_policy(usd_only),
            shop.patch(offering_id, {"price": {"amount": 1800, "currency": "eur"}}),
        )
        assert sorted([policy.status_code, price.status_code]) == [200, 422], (
            policy.text,
            price.text,
        )
        assert (await shop.quote(offering_id)).status_code == 200


# --- What was seen 5: Stripe's maximum charge -------------------------------------------


@pytest.mark.parametrize(
    ("price", "capacity", "seats"),
    [
        pytest.param(usd(15_000_000), 10, 10, id="1,500,000.00 USD"),
        pytest.param({"amount": 50_000_000, "currency": "jpy"}, 2, 2, id="100,000,000 JPY"),
    ],
)
async def test_a_total_above_stripes_maximum_is_refused_before_any_hold(
    client: AsyncTestClient[Any], price: dict[str, Any], capacity: int, seats: int
) -> None:
    shop = await open_shop(client, {"percent_bps": 500})
    offering_id = await shop.new_offering(price, capacity)
    slot_id = await shop.new_slot(offering_id)

    assert "maximum" in problem(await shop.checkout(slot_id, seats), 422)
    assert "maximum" in problem(
        await shop.checkout(slot_id, seats, key="big-order-0c5e1f7a-3b2d-4c11-9f0e"), 422
    )
    assert await shop.seats_available(offering_id, slot_id) == capacity
    problem(await shop.quote(offering_id, seats), 422)


async def test_a_total_at_stripes_maximum_is_sold(client: AsyncTestClient[Any]) -> None:
    shop = await open_shop(client, {"percent_bps": 500, "bearer": "tenant"})
    offering_id = await shop.new_offering(usd(99_999_999), 1)
    slot_id = await shop.new_slot(offering_id)
    sold = await shop.checkout(slot_id, 1)
    assert sold.status_code == 201, sold.text
    assert sold.json()["quote"]["customer_total"] == usd(99_999_999)


async def test_a_price_per_seat_above_the_maximum_is_refused(
    client: AsyncTestClient[Any],
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
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        offering_id = await shop.new_offering(usd(2000), 4)
        slot_id = await shop.new_slot(offering_id)

        refused = await shop.checkout(slot_id, 3, key=key)
        assert refused.status_code == 502, refused.text
        assert await shop.seats_available(offering_id, slot_id) == 4


# --- What was seen 7: validation at every write -----------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("timezone", "Mars/Olympus"), ("country", "ZZ"), ("timezone", "")],
)
async def test_a_tenant_needs_a_real_timezone_and_country(
    client: AsyncTestClient[Any], field: str, value: str
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


async def test_a_real_timezone_and_country_are_accepted(client: AsyncTestClient[Any]) -> None:
    shop = await open_shop(client, country="de", timezone="Europe/Berlin")
    tenant = (await client.get(f"/v1/admin/tenants/{shop.id}", headers=ADMIN)).json()
    assert (tenant["country"], tenant["timezone"]) == ("DE", "Europe/Berlin")


async def test_an_offering_has_one_slot_per_start(client: AsyncTestClient[Any]) -> None:
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
    client: AsyncTestClient[Any], starts_at: str
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
    client: AsyncTestClient[Any],
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
