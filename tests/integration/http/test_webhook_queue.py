"""BOOKPAY_WEBHOOK_MODE=queue over HTTP, on SQLite and PostgreSQL: a verified webhook is
answered `queued` once kept in `received_events`, and the worker applies it exactly once.

A bad signature keeps nothing; a database failure while keeping it answers 5xx, so Stripe
delivers it again; two workers draining at once (PostgreSQL) apply each event once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import bindparam, text

from adapters.stripe_wire import signature as stripe_signature
from application.acknowledge_webhook import AcknowledgeWebhook
from application.apply_received_events import ApplyReceivedEvents, Drained
from application.payment_events import ApplyPaymentEvent, EventApplied
from application.ports.gateway import PaymentGateway, WebhookEndpoint
from application.ports.gateway_events import PaymentEvent
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, WEBHOOK_SECRET, build_test_app
from tests.support.http_flows import OpenShop, open_shop
from tests.support.pool_watch import PoolWatch, WatchedGateway
from tests.support.scopes import on_platform
from tests.support.webhook_shop import ENGINES

COMPLETED = "checkout.session.completed"
Deliver = Callable[[WebhookEndpoint, bytes, dict[str, str]], Awaitable[int]]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@dataclass
class Queued:
    client: AppClient
    container: Any
    shop: OpenShop
    watch: PoolWatch

    async def drain(self) -> Drained:
        """The worker's job, run by the test as the server runs it."""
        drained: Drained = await on_platform(self.container.apply_received_events())()
        return drained

    async def queued(self, *bodies: bytes) -> int:
        """How many of these events wait in `received_events` (the fake's own account
        events come and go beside them)."""
        ids = [json.loads(body)["id"] for body in bodies]
        async with self.container.engine().connect() as connection:
            count = await connection.scalar(
                text("SELECT count(*) FROM received_events WHERE event_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": ids},
            )
        return int(count or 0)

    async def paid_unheard(self, customer: str = "ada") -> tuple[str, bytes]:
        """A checkout paid whose completion the fake did not deliver: (booking id, body)."""
        answer = await self.client.post(
            f"/v1/public/{self.shop.slug}/checkout",
            json={
                "slot_id": self.shop.slot_id,
                "seats": 1,
                "customer": {"email": f"{customer}@example.com"},
            },
        )
        assert answer.status_code == 201, answer.text
        checkout = answer.json()
        paid = await self.client.post(
            checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
        )
        assert paid.status_code == 303, paid.text
        sessions = {
            e.payload: json.loads(e.payload)["data"]["object"]["metadata"].get("booking_id")
            for e in await self.container.fake_gateway().list_events()
            if e.type == COMPLETED
        }
        (body,) = [p for p, booking in sessions.items() if booking == checkout["booking_id"]]
        return checkout["booking_id"], body

    async def post(self, body: bytes, secret: str = WEBHOOK_SECRET) -> Any:
        header = stripe_signature.sign(body, secret, datetime.now(UTC))
        return await self.client.post(
            "/v1/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    async def booking(self, booking_id: str) -> dict[str, Any]:
        answer = await self.client.get(
            f"/v1/tenant/bookings/{booking_id}", headers=self.shop.tenant
        )
        assert answer.status_code == 200, answer.text
        booking: dict[str, Any] = answer.json()
        return booking


@asynccontextmanager
async def queue_mode(database_url: str | None, tmp_path: Path) -> AsyncIterator[Queued]:
    """The app in `queue` mode; the fake Stripe's completions are not delivered (the test
    posts them), its other events are; the shop's onboarding applied."""
    watch = PoolWatch()

    def watched(gateway: PaymentGateway) -> PaymentGateway:
        return WatchedGateway(gateway, watch)

    app, container = build_test_app(
        tmp_path,
        database_url,
        gateway_wrapper=watched,
        webhook_mode="queue",
        slot_share_per_client=False,  # one test client pays many bookings of one slot
    )
    deliver: Deliver = container.webhook_delivery()

    async def without_completions(
        endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]
    ) -> int:
        if json.loads(body)["type"] == COMPLETED:
            return 200  # lost on the way: the test posts it
        return await deliver(endpoint, body, headers)

    container.webhook_delivery.override(providers.Object(without_completions))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client, capacity=40)
        queued = Queued(client, container, shop, watch)

        async def can_sell() -> bool:
            status = await client.get("/v1/tenant/connect/status", headers=shop.tenant)
            return bool(status.json()["charges_enabled"])

        await queued.drain()  # the onboarding's account.updated, unless the worker has it
        await _eventually(can_sell)
        yield queued


async def _eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait (at most 30 s, never asserting how long) until `condition` holds."""
    for _ in range(3000):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_a_completion_is_answered_queued_and_the_worker_pays_the_booking(
    database_url: str | None, tmp_path: Path
) -> None:
    async with queue_mode(database_url, tmp_path) as app:
        booking_id, body = await app.paid_unheard()

        answer = await app.post(body)

        assert answer.status_code == 200, answer.text
        assert answer.json() == {"received": True, "outcome": "queued"}

        async def paid() -> bool:
            return bool((await app.booking(booking_id))["status"] == "confirmed")

        await _eventually(paid)  # the worker, woken by the answer, applied it
        ledger = sorted(e["kind"] for e in (await app.booking(booking_id))["ledger"])
        assert ledger == ["application_fee", "charge"]

        async def forgotten() -> bool:
            return await app.queued(body) == 0

        await _eventually(forgotten)
        again = await app.post(body)
        assert again.json() == {"received": True, "outcome": "duplicate"}
        assert await app.queued(body) == 0


async def test_a_bad_signature_is_refused_and_nothing_is_queued(
    database_url: str | None, tmp_path: Path
) -> None:
    async with queue_mode(database_url, tmp_path) as app:
        booking_id, body = await app.paid_unheard()

        answer = await app.post(body, secret="whsec_someone_else")

        assert answer.status_code == 400, answer.text
        assert await app.queued(body) == 0
        assert (await app.booking(booking_id))["status"] == "pending_payment"


class _FailingCommit:
    """A unit of work whose commit fails as if the database connection dropped."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> _FailingCommit:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    async def commit(self) -> None:
        raise ConnectionResetError("the database connection dropped at commit")


async def test_an_event_that_cannot_be_kept_answers_5xx_and_its_redelivery_is_applied(
    database_url: str | None, tmp_path: Path
) -> None:
    async with queue_mode(database_url, tmp_path) as app:
        booking_id, body = await app.paid_unheard()
        container = app.container
        container.acknowledge_webhook.override(
            providers.Singleton(
                AcknowledgeWebhook,
                lambda: _FailingCommit(container.uow()()),
                container.gateway,
                container.clock,
            )
        )

        failed = await app.post(body)

        assert failed.status_code >= 500
        assert await app.queued(body) == 0
        container.acknowledge_webhook.reset_override()
        assert (await app.post(body)).json()["outcome"] == "queued"  # Stripe's redelivery
        await app.drain()

        async def paid() -> bool:  # by this drain, or by the worker it woke
            return bool((await app.booking(booking_id))["status"] == "confirmed")

        await _eventually(paid)


class _Recording:
    """ApplyPaymentEvent, listing the id of every event it is handed."""

    def __init__(self, inner: ApplyPaymentEvent) -> None:
        self._inner = inner
        self.handed: list[str] = []

    async def __call__(self, event: PaymentEvent) -> EventApplied:
        self.handed.append(event.event_id)
        return await self._inner(event)


@pytest.mark.race
@pytest.mark.parametrize("database_url", [ENGINES[1]], indirect=True)
async def test_two_workers_draining_at_once_apply_each_event_once(
    database_url: str | None, tmp_path: Path
) -> None:
    async with queue_mode(database_url, tmp_path) as app:
        container = app.container
        recording = _Recording(container.apply_payment_event())
        # Every drain, this process's own worker's too, hands its events to `recording`.
        container.apply_received_events.override(
            providers.Factory(
                ApplyReceivedEvents,
                container.uow,
                container.gateway,
                providers.Object(recording),
                container.clock,
                batch=3,
            )
        )
        paid = [await app.paid_unheard(f"c{n}") for n in range(12)]
        for _, body in paid:
            assert (await app.post(body)).json()["outcome"] == "queued"

        results = await asyncio.gather(*(app.drain() for _ in range(3)))

        async def all_applied() -> bool:  # the process's own worker may still hold some
            return await app.queued(*(body for _, body in paid)) == 0

        await _eventually(all_applied)
        assert sum(result.retried for result in results) == 0
        ids = sorted(json.loads(body)["id"] for _, body in paid)
        assert sorted(i for i in recording.handed if i in ids) == ids  # each claimed once
        for booking_id, _ in paid:
            booking = await app.booking(booking_id)
            assert booking["status"] == "confirmed"
            assert [e["kind"] for e in booking["ledger"]].count("charge") == 1
        assert await app.queued(*(body for _, body in paid)) == 0


async def test_metrics_tell_how_many_events_wait_and_for_how_long(
    database_url: str | None, tmp_path: Path
) -> None:
    async with queue_mode(database_url, tmp_path) as app:
        container = app.container
        container.apply_received_events.override(providers.Object(_nothing_drained))
        _, body = await app.paid_unheard()
        assert (await app.post(body)).json()["outcome"] == "queued"

        scraped = await app.client.get("/metrics")

    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
    }
    assert samples["bookpay_webhook_queue_events"] >= 1
    assert samples["bookpay_webhook_queue_oldest_age_seconds"] >= 0


async def _nothing_drained() -> Drained:
    return Drained()
