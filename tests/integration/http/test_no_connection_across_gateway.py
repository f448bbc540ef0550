"""No database connection (so no transaction) is held while Stripe is asked (issue 19).

Real Stripe answers in hundreds of milliseconds; a request that kept a pooled connection
across that call would let a few slow answers starve the pool for everyone. The gateway
here sits behind a double that, on every call, looks at the connections the calling task
has checked out of the engine's pool (pool events, per asyncio task) and records a
violation when there is one. The journeys cover onboarding, checkout with and without an
Idempotency-Key, payment, a customer leaving the checkout, a refund and reconciliation.
No timing is involved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from application.errors import GatewayError
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import open_shop
from tests.support.pool_watch import PoolWatch, WatchedGateway
from tests.support.scopes import on_platform

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@dataclass
class Watched:
    client: AppClient
    container: Any
    watch: PoolWatch

    async def in_app(self, work: Callable[[], Any]) -> Any:
        return await on_platform(work)()


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def watched(database_url: str | None, tmp_path: Path) -> AsyncIterator[Watched]:
    url = database_url
    watch = PoolWatch()
    app, container = build_test_app(
        tmp_path, url, gateway_wrapper=lambda inner: WatchedGateway(inner, watch)
    )
    watch.attach(container.engine())
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Watched(client, container, watch)


async def _checkout(client: AppClient, slug: str, slot_id: str, **headers: str) -> Any:
    answer = await client.post(
        f"/v1/public/{slug}/checkout",
        json={"slot_id": slot_id, "seats": 1, "customer": {"email": "ada@example.com"}},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_no_request_holds_a_database_connection_while_the_gateway_is_called(
    watched: Watched,
) -> None:
    client = watched.client
    shop = await open_shop(client)  # onboarding asks the gateway for an account and a link
    paid = await _checkout(client, shop.slug, shop.slot_id)
    key = {"Idempotency-Key": "issue-19-checkout-key-0001"}
    keyed = await _checkout(client, shop.slug, shop.slot_id, **key)
    left = await _checkout(client, shop.slug, shop.slot_id)

    pay = await client.post(paid["checkout_url"] + "/pay", data={"method": "card"})
    assert pay.status_code in (200, 303), pay.text
    back = await client.get(
        f"/v1/public/bookings/{left['booking_id']}/checkout-left",
        params={"token": left["booking_token"]},
    )
    assert back.status_code in (200, 303), back.text
    cancelled = await client.post(
        f"/v1/tenant/bookings/{paid['booking_id']}/cancel", json={}, headers=shop.tenant
    )
    assert cancelled.status_code == 200, cancelled.text
    await watched.in_app(watched.container.reconcile())

    called = set(watched.watch.calls)
    assert {
        "create_connected_account",
        "create_checkout_session",
        "expire_checkout_session",
        "refund",
    } <= called, called
    assert keyed["booking_id"] != paid["booking_id"]
    assert watched.watch.violations == []


async def test_the_watch_sees_a_connection_held_across_a_gateway_call(watched: Watched) -> None:
    """The check above could fail: a unit of work left open around a call is reported."""

    async def hold_and_call() -> None:
        async with watched.container.uow()() as uow:
            await uow.tenants.get("tn_nobody")
            gateway = watched.container.gateway()
            await gateway.retrieve_account("acct_nobody")

    with pytest.raises(GatewayError):  # the fake knows no such account
        await watched.in_app(hold_and_call)
    assert watched.watch.violations == ["retrieve_account called holding 1 database connection(s)"]
