"""Signed but false, after the payment (issue 12, "What was seen" 5, brief `facts`).

A correctly signed `charge.refunded` or `charge.dispute.*` naming a booking's payment is
not taken on its word when it comes from another account or names another charge: the
charge is fetched from the gateway and its facts decide (nothing, when Stripe made no such
refund or has no such dispute). Reconciliation reports a dispute Bookpay recorded that
Stripe does not list. Through HTTP with the fake gateway, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from adapters.stripe_wire import signature as stripe_signature
from application.payment_events.context import EventContext
from application.payment_events.dispute_created import dispute_created
from application.ports.gateway import WebhookEndpoint
from application.ports.gateway_events import DisputeCreated
from application.reconcile import ReconcileReport
from domain.money import Money
from tests.support.http_app import (
    BASE_URL,
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    build_test_app,
)
from tests.support.http_flows import paid_booking

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("fresh_postgres_url", id="postgres", marks=pytest.mark.postgres),
]

T = TypeVar("T")
PAID = [("application_fee", 230), ("charge", 4230)]
FOREIGN = "acct_someone_else"


@dataclass
class Shop:
    client: AsyncTestClient[Any]
    container: Any
    # Event types whose deliveries are lost on the way (Stripe's webhook is late).
    lost: set[str] = field(default_factory=set)

    async def in_app(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` on the app's own event loop, where its database pool lives."""
        return await asyncio.to_thread(self.client.blocking_portal.call, work)

    async def post_event(self, event: dict[str, Any], endpoint: WebhookEndpoint) -> Any:
        body = json.dumps(event).encode()
        platform = endpoint is WebhookEndpoint.PLATFORM
        secret = WEBHOOK_SECRET if platform else CONNECT_WEBHOOK_SECRET
        path = "/v1/webhooks/stripe" + ("" if platform else "/connect")
        header = stripe_signature.sign(body, secret, datetime.now(UTC))
        answer = await self.client.post(
            path,
            content=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def booking(self, tenant: dict[str, str], booking_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)
        assert answer.status_code == 200, answer.text
        booking: dict[str, Any] = answer.json()
        return booking

    async def ledger(self, tenant: dict[str, str], booking_id: str) -> list[tuple[str, int]]:
        entries = (await self.booking(tenant, booking_id))["ledger"]
        return sorted((e["kind"], e["amount"]["amount"]) for e in entries)

    async def dashboard(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.client.post(f"/fake-stripe/{path}", json=body)
        assert answer.status_code in (200, 201), answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def refund(self, tenant: dict[str, str], booking_id: str, amount: int) -> Any:
        return await self.client.post(
            f"/v1/tenant/bookings/{booking_id}/refunds",
            json={"amount": {"amount": amount, "currency": "usd"}},
            headers=tenant,
        )


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def shop(database_url: str | None, tmp_path: Path) -> AsyncIterator[Shop]:
    app, container = build_test_app(tmp_path, database_url)
    deliver = container.webhook_delivery()
    lost: set[str] = set()

    async def lossy(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        if json.loads(body)["type"] in lost:
            return 200  # acknowledged by something that is not Bookpay: never applied
        return int(await deliver(endpoint, body, headers))

    container.webhook_delivery.override(providers.Object(lossy))
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        yield Shop(client, container, lost)


def _event(event_type: str, obj: dict[str, Any], account: str | None) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2023-08-16",
        "created": int(datetime.now(UTC).timestamp()),
        "livemode": False,
        "account": account,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def _refunded(payment: str, amount_refunded: int, account: str | None, charge: str) -> Any:
    return _event(
        "charge.refunded",
        {
            "id": charge,
            "object": "charge",
            "payment_intent": payment,
            "amount": 4230,
            "amount_refunded": amount_refunded,
            "currency": "usd",
        },
        account,
    )


def _disputed(payment: str, dispute_id: str, account: str | None, charge: str) -> Any:
    return _event(
        "charge.dispute.created",
        {
            "id": dispute_id,
            "object": "dispute",
            "charge": charge,
            "payment_intent": payment,
            "amount": 4230,
            "currency": "usd",
            "reason": "fraudulent",
            "status": "needs_response",
            "is_charge_refundable": False,
            "created": int(datetime.now(UTC).timestamp()),
            "balance_transactions": [],
        },
        account,
    )


# Where a forger sends: the Connect endpoint naming another account, the platform's naming
# another account, the platform's naming the platform (a destination charge's) and a
# charge that is not the booking's.
LIES = [
    pytest.param(WebhookEndpoint.CONNECT, FOREIGN, id="connect-other-account"),
    pytest.param(WebhookEndpoint.PLATFORM, FOREIGN, id="platform-other-account"),
    pytest.param(WebhookEndpoint.PLATFORM, None, id="platform-other-charge"),
]


@pytest.mark.parametrize(("endpoint", "account"), LIES)
async def test_a_signed_refund_the_gateway_never_made_refunds_nothing(
    shop: Shop, endpoint: WebhookEndpoint, account: str | None
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    first = await shop.post_event(_refunded(payment, 500, account, "ch_forged"), endpoint)
    second = await shop.post_event(_refunded(payment, 700, account, "ch_forged"), endpoint)

    assert (first["outcome"], second["outcome"]) == ("ignored", "ignored")
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_status"] == "paid"
    assert booking["refunded"]["amount"] == 0
    assert await shop.ledger(tenant, booking_id) == PAID
    # The whole charge is still refundable: nothing is short.
    refunded = await shop.refund(tenant, booking_id, 4230)
    assert refunded.status_code == 201, refunded.text
    assert (await shop.booking(tenant, booking_id))["refunded"]["amount"] == 4230


async def test_a_foreign_refund_event_about_a_real_refund_books_what_the_gateway_made(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost |= {"charge.refunded", "application_fee.refunded"}
    await shop.dashboard(
        f"payments/{payment}/refund", {"amount": 2115, "refund_application_fee": False}
    )

    answer = await shop.post_event(
        _refunded(payment, 700, FOREIGN, "ch_forged"), WebhookEndpoint.CONNECT
    )

    assert answer["outcome"] == "applied"
    assert await shop.ledger(tenant, booking_id) == sorted([*PAID, ("refund", 2115)])
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_status"] == "partially_refunded"
    assert booking["refunded"]["amount"] == 2115


@pytest.mark.parametrize(("endpoint", "account"), LIES)
async def test_a_signed_dispute_the_gateway_does_not_have_blocks_nothing(
    shop: Shop, endpoint: WebhookEndpoint, account: str | None
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    answer = await shop.post_event(_disputed(payment, "dp_forged", account, "ch_forged"), endpoint)

    assert answer["outcome"] == "ignored"
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_status"] == "paid"
    assert booking["disputes"] == []
    refunded = await shop.refund(tenant, booking_id, 1000)
    assert refunded.status_code == 201, refunded.text


async def test_a_foreign_dispute_event_about_a_real_dispute_records_the_gateways_dispute(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost |= {"charge.dispute.created", "charge.dispute.funds_withdrawn"}
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})

    answer = await shop.post_event(
        _disputed(payment, opened["dispute_id"], FOREIGN, "ch_forged"), WebhookEndpoint.CONNECT
    )

    assert answer["outcome"] == "applied"
    booking = await shop.booking(tenant, booking_id)
    assert [d["id"] for d in booking["disputes"]] == [opened["dispute_id"]]
    assert booking["payment_status"] == "disputed"


async def test_reconciliation_reports_a_dispute_stripe_does_not_list(shop: Shop) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    async def recorded_before_this_check() -> None:
        # As an event applied on its word before events were checked against the facts.
        factory = shop.container.uow()
        async with factory() as uow:
            await uow.webhook_inbox.record("evt_old_forgery")
            await dispute_created(
                EventContext(uow, shop.container.clock()),
                DisputeCreated(
                    event_id="evt_old_forgery",
                    created_at=datetime.now(UTC),
                    account_id=None,
                    dispute_id="dp_forged",
                    charge_id="ch_forged",
                    payment_intent_id=payment,
                    amount=Money(4230, "usd"),
                    reason="fraudulent",
                ),
            )
            await uow.commit()

    await shop.in_app(recorded_before_this_check)
    assert (await shop.booking(tenant, booking_id))["payment_status"] == "disputed"

    report: ReconcileReport = await shop.in_app(shop.container.reconcile())

    assert (
        f"{booking_id}: dispute dp_forged is needs_response in Bookpay, not listed at the gateway"
    ) in report.for_a_human


# --- Nothing left ----------------------------------------------------------------------


async def test_refunding_the_rest_of_a_fully_refunded_booking_says_nothing_is_left(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    assert (await shop.refund(tenant, booking_id, 4230)).status_code == 201

    rest = await shop.client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds", json={}, headers=tenant
    )

    assert rest.status_code == 409, rest.text
    assert "nothing is left to refund" in rest.json()["detail"]
    assert "exceeds" not in rest.json()["detail"]
