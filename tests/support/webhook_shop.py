"""A test app whose Stripe webhooks can be lost, held back or forged, for the tests of
money that converges to Stripe's facts (issue 12).

`shop_on(database_url, tmp_path)` opens the app with the fake gateway; its deliveries go
through `Shop`, which drops the types in `lost` (acknowledged by something that is not
Bookpay: never applied) and keeps the types in `held` for `release()` (Stripe's webhook is
late). `post_event` sends a correctly signed event of the test's own making.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dependency_injector import providers

from adapters.stripe_wire import signature as stripe_signature
from application.payment_events.bus import HANDLERS
from application.payment_events.context import EventContext
from application.ports.gateway import PaymentGateway, WebhookEndpoint
from application.ports.gateway_events import DisputeEvent
from application.reconcile import ReconcileReport
from domain.dispute import DisputeStatus
from domain.money import Money
from tests.support import gateway_requests
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET, build_test_app
from tests.support.scopes import on_platform

T = TypeVar("T")

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]
# The ledger of the 42.30 USD booking of tests.support.http_flows.paid_booking.
PAID = [("application_fee", 230), ("charge", 4230)]
FOREIGN = "acct_someone_else"
# Where a forger sends a refund or dispute event about a booking's payment: the Connect
# endpoint naming another account, the platform's naming another account, and the
# platform's naming the platform (a destination charge's) about a charge that is not the
# booking's.
LIES = [
    pytest.param(WebhookEndpoint.CONNECT, FOREIGN, id="connect-other-account"),
    pytest.param(WebhookEndpoint.PLATFORM, FOREIGN, id="platform-other-account"),
    pytest.param(WebhookEndpoint.PLATFORM, None, id="platform-other-charge"),
]

Deliver = Callable[[WebhookEndpoint, bytes, dict[str, str]], Awaitable[int]]


@dataclass
class Held:
    endpoint: WebhookEndpoint
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


@dataclass
class Shop:
    client: AppClient
    container: Any
    deliver: Deliver
    # Event types whose deliveries are lost on the way.
    lost: set[str] = field(default_factory=set)
    # Event types whose deliveries wait until `release()`, in the order they came.
    held_types: set[str] = field(default_factory=set)
    held: list[Held] = field(default_factory=list)

    async def in_app(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` as the server runs its jobs: declaring the platform's row scope."""
        return await on_platform(work)()

    async def reconcile(self) -> ReconcileReport:
        report: ReconcileReport = await self.in_app(self.container.reconcile())
        return report

    async def applied_on_its_word(
        self,
        kind: type[DisputeEvent],
        payment: str,
        status: DisputeStatus,
        dispute_id: str = "dp_forged",
    ) -> None:
        """Record a dispute (by default a forged `dp_forged`) of the 42.30 USD payment
        through its handler, unchecked and without its funds: as an event applied on its
        word before events were checked against the facts (or parked, before parked events
        were)."""

        async def apply() -> None:
            async with self.container.uow()() as uow:
                await uow.webhook_inbox.record("evt_old_forgery")
                event = kind(
                    event_id="evt_old_forgery",
                    created_at=datetime.now(UTC),
                    account_id=None,
                    dispute_id=dispute_id,
                    charge_id="ch_forged",
                    payment_intent_id=payment,
                    amount=Money(4230, "usd"),
                    reason="fraudulent",
                    status=status,
                    is_charge_refundable=False,
                )
                await HANDLERS[kind](EventContext(uow, self.container.clock()), event)
                await uow.commit()

        await self.in_app(apply)

    async def release(self) -> list[int]:
        """Deliver the held events now (their signatures are still fresh); the statuses."""
        held, self.held = self.held, []
        statuses = []
        for event in held:

            async def deliver(event: Held = event) -> int:
                return await self.deliver(event.endpoint, event.body, event.headers)

            statuses.append(await self.in_app(deliver))
        return statuses

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

    async def net(self, tenant: dict[str, str]) -> int:
        statement = await self.client.get("/v1/tenant/statement", headers=tenant)
        assert statement.status_code == 200, statement.text
        (line,) = statement.json()["data"]
        return int(line["net"]["amount"])

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


@asynccontextmanager
async def shop_on(
    database_url: str | None,
    tmp_path: Path,
    gateway_wrapper: Callable[[PaymentGateway], PaymentGateway] | None = None,
) -> AsyncIterator[Shop]:
    """The app with the fake gateway (seen through `gateway_wrapper`, when given), its
    webhooks delivered through the `Shop`."""
    app, container = build_test_app(tmp_path, database_url, gateway_wrapper=gateway_wrapper)
    deliver: Deliver = container.webhook_delivery()
    shop: Shop | None = None

    async def through_shop(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        assert shop is not None
        kind = json.loads(body)["type"]
        if kind in shop.lost:
            return 200  # acknowledged by something that is not Bookpay: never applied
        if kind in shop.held_types:
            shop.held.append(Held(endpoint, body, headers))
            return 200
        return int(await deliver(endpoint, body, headers))

    container.webhook_delivery.override(providers.Object(through_shop))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = Shop(client, container, deliver)
        yield shop


def stripe_event(event_type: str, obj: dict[str, Any], account: str | None) -> dict[str, Any]:
    """A test-mode event as Stripe sends it, of a new id, created now."""
    event = gateway_requests.stripe_event(
        event_type, obj, datetime.now(UTC), event_id=f"evt_{uuid.uuid4().hex}", account=account
    )
    event["account"] = account
    return event


def charge_refunded(payment: str, amount_refunded: int, account: str | None, charge: str) -> Any:
    """`charge.refunded` of the 42.30 USD charge, `amount_refunded` in cents."""
    return stripe_event(
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


def dispute_created(payment: str, dispute_id: str, account: str | None, charge: str) -> Any:
    """`charge.dispute.created` of the whole 42.30 USD charge, not refundable."""
    return stripe_event(
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


def session_event(
    kind: str,
    session_id: str,
    booking_id: str,
    *,
    payment_status: str = "unpaid",
    status: str = "complete",
    payment_intent: str | None = None,
) -> dict[str, Any]:
    """A signed-to-be `checkout.session.*` event about the 42.30 USD checkout of
    tests.support.http_flows.open_checkout that matches its booking: its account (the
    platform's), its amount and its currency."""
    return stripe_event(
        kind,
        {
            "id": session_id,
            "object": "checkout.session",
            "client_reference_id": booking_id,
            "metadata": {"booking_id": booking_id},
            "amount_total": 4230,
            "currency": "usd",
            "payment_status": payment_status,
            "payment_intent": payment_intent,
            "status": status,
        },
        None,
    )
