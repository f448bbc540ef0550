"""Phantom refunds (issue 12, "What was seen" 1), through the HTTP API on SQLite and
PostgreSQL: while Stripe cannot be reached nothing answers "refunded" or "cancelled"; once it
is back, a retry or reconciliation makes each refund exactly once at the gateway.

The fake gateway sits behind a link that can go down (tests.support.gateway_doubles); the
hosted pay page keeps working, so payments go through while refunds get no answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from dependency_injector import providers

from application.ports.gateway import WebhookEndpoint
from tests.support.app_client import AppClient
from tests.support.gateway_doubles import GatewayLink
from tests.support.http_app import BASE_URL, asgi_transport, build_test_app
from tests.support.http_flows import paid_booking
from tests.support.scopes import on_platform

pytestmark = pytest.mark.refunds

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]

T = TypeVar("T")
Held = tuple[WebhookEndpoint, bytes, dict[str, str]]


@dataclass
class Shop:
    client: AppClient
    container: Any
    link: GatewayLink
    held: list[Held]
    holding: list[bool]
    deliver: Any

    async def booking(self, tenant: dict[str, str], booking_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)
        assert answer.status_code == 200, answer.text
        booking: dict[str, Any] = answer.json()
        return booking

    async def in_app(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` declaring the platform's row scope, as the server's jobs do."""
        return await on_platform(work)()

    async def refunds_at_gateway(self, tenant: dict[str, str], booking_id: str) -> list[int]:
        """The amounts the gateway itself refunded of the booking's payment."""
        tenant_id = await self._tenant_id(tenant)

        async def made() -> list[int]:
            async with self.container.uow()() as uow:
                booking = await uow.bookings.get(tenant_id, booking_id)
            assert booking is not None
            assert booking.payment_intent_id is not None
            refunds = await self.container.fake_gateway().list_refunds(booking.payment_intent_id)
            return sorted(r.amount.amount for r in refunds)

        return await self.in_app(made)

    async def _tenant_id(self, tenant: dict[str, str]) -> str:
        me = await self.client.get("/v1/tenant/", headers=tenant)
        assert me.status_code == 200, me.text
        return str(me.json()["id"])

    async def reconcile(self) -> Any:
        return await self.in_app(self.container.reconcile())

    async def release_webhooks(self) -> None:
        self.holding[0] = False
        for endpoint, body, headers in self.held:
            delivered = await self.in_app(lambda: self.deliver(endpoint, body, headers))  # noqa: B023
            assert delivered == 200


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def shop(database_url: str | None, tmp_path: Path) -> AsyncIterator[Shop]:
    app, container = build_test_app(tmp_path, database_url, gateway_wrapper=GatewayLink)
    deliver = container.webhook_delivery()
    held: list[Held] = []
    holding = [False]

    async def maybe_deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        if holding[0]:
            held.append((endpoint, body, headers))
            return 503
        return int(await deliver(endpoint, body, headers))

    container.webhook_delivery.override(providers.Object(maybe_deliver))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        link = container.gateway()
        assert isinstance(link, GatewayLink)
        yield Shop(client, container, link, held, holding, deliver)


@pytest.mark.parametrize("lands", [False, True], ids=["never-reached-stripe", "answer-lost"])
async def test_a_tenant_cancel_stripe_did_not_confirm_is_retried_into_exactly_one_refund(
    shop: Shop, lands: bool
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    cancel = f"/v1/tenant/bookings/{booking_id}/cancel"
    shop.link.down, shop.link.lands = True, lands

    for _ in range(2):  # the client's retries while Stripe is still unreachable
        answer = await shop.client.post(cancel, json={}, headers=tenant)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "retry-after" in answer.headers
        booking = await shop.booking(tenant, booking_id)
        assert booking["status"] == "confirmed"
        assert booking["refunded"] == {"amount": 0, "currency": "usd"}
        assert [e for e in booking["ledger"] if e["kind"] == "refund"] == []

    shop.link.down = False
    answer = await shop.client.post(cancel, json={}, headers=tenant)

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    assert answer.json()["refunded"] == {"amount": 4230, "currency": "usd"}
    assert await shop.refunds_at_gateway(tenant, booking_id) == [4230]
    booking = await shop.booking(tenant, booking_id)
    assert [e["amount"]["amount"] for e in booking["ledger"] if e["kind"] == "refund"] == [4230]
    again = await shop.client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds", json={}, headers=tenant
    )
    assert again.status_code == 409  # truly nothing left: it all went back, once
    assert await shop.refunds_at_gateway(tenant, booking_id) == [4230]


async def test_a_refund_left_unknown_by_a_crash_is_re_sent_by_reconciliation(shop: Shop) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    shop.link.down = True  # the process dies before Stripe's answer: the reservation stays
    answer = await shop.client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds",
        json={"amount": {"amount": 1000, "currency": "usd"}},
        headers=tenant,
    )
    assert answer.status_code == 503, answer.text

    still_down = await shop.reconcile()
    assert booking_id in still_down.unreachable
    assert (await shop.booking(tenant, booking_id))["refunded"]["amount"] == 0

    shop.link.down = False
    report = await shop.reconcile()

    assert len(report.refunds_settled) == 1
    booking = await shop.booking(tenant, booking_id)
    assert booking["refunded"] == {"amount": 1000, "currency": "usd"}
    assert await shop.refunds_at_gateway(tenant, booking_id) == [1000]
    assert [e["amount"]["amount"] for e in booking["ledger"] if e["kind"] == "refund"] == [1000]
    assert (await shop.reconcile()).refunds_settled == []
    assert await shop.refunds_at_gateway(tenant, booking_id) == [1000]


async def test_a_late_payment_whose_seats_were_sold_loses_no_refund(shop: Shop) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    detail = await shop.booking(tenant, booking_id)
    slug = (await shop.client.get("/v1/tenant/", headers=tenant)).json()["slug"]
    # Other customers, each from an address of their own (one holds half a slot at most).

    async def checkout_from(address: str, seats: int) -> httpx.Response:
        elsewhere = asgi_transport(shop.client.app, client=(address, 50000))
        body = {"slot_id": detail["slot_id"], "seats": seats, "customer": {"email": "l@x.io"}}
        async with httpx.AsyncClient(transport=elsewhere, base_url=BASE_URL) as other:
            return await other.post(f"/v1/public/{slug}/checkout", json=body)

    late = await shop.in_app(lambda: checkout_from("198.51.100.9", 2))
    assert late.status_code == 201, late.text
    late_id = late.json()["booking_id"]
    shop.holding[0] = True  # Stripe's webhooks are not arriving
    paid = await shop.client.post(
        late.json()["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text

    async def hold_lapses() -> None:  # before the payment is known
        async with shop.container.uow()() as uow:
            booking = await uow.bookings.find_by_id(late_id)
            await uow.bookings.update(booking.expire())
            await uow.slots.release_hold(booking.tenant_id, booking.slot_id, booking.seats)
            await uow.commit()

    await shop.in_app(hold_lapses)
    taken = await shop.in_app(lambda: checkout_from("198.51.100.10", 3))
    assert taken.status_code == 201, taken.text
    shop.link.down = True  # and Stripe is unreachable when the automatic refund is sent

    await shop.release_webhooks()

    cancelled = await shop.booking(tenant, late_id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["refunded"] == {"amount": 0, "currency": "usd"}  # not claimed
    assert booking_id not in (await shop.reconcile()).refunds_settled

    shop.link.down = False
    await shop.reconcile()

    refunded = await shop.booking(tenant, late_id)
    assert refunded["refunded"] == {"amount": 4230, "currency": "usd"}
    assert await shop.refunds_at_gateway(tenant, late_id) == [4230]
    assert [e["amount"]["amount"] for e in refunded["ledger"] if e["kind"] == "refund"] == [4230]
    await shop.reconcile()
    assert await shop.refunds_at_gateway(tenant, late_id) == [4230]


async def test_a_refund_retried_with_its_idempotency_key_after_a_503_is_made_once(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    refund = f"/v1/tenant/bookings/{booking_id}/refunds"
    body = {"amount": {"amount": 1000, "currency": "usd"}}
    headers = tenant | {"Idempotency-Key": "refund-during-outage"}
    shop.link.down, shop.link.lands = True, True

    first = await shop.client.post(refund, json=body, headers=headers)
    assert first.status_code == 503, first.text  # no answer kept for the key: retry is safe

    shop.link.down = False
    retried = await shop.client.post(refund, json=body, headers=headers)
    replayed = await shop.client.post(refund, json=body, headers=headers)

    assert retried.status_code == 201, retried.text
    assert retried.json()["refunded"] == {"amount": 1000, "currency": "usd"}
    assert replayed.content == retried.content
    assert await shop.refunds_at_gateway(tenant, booking_id) == [1000]
