"""The fake Stripe over HTTP, its state in the app's database as in production (SQLite and
PostgreSQL): Pay pressed concurrently charges once, events survive a restart, and the
dashboard actions of API.md deliver Stripe's events to the app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from adapters.fake_stripe.gateway import FakeGateway
from adapters.fake_stripe.sql_store import SqlAlchemyFakeStripeStore
from adapters.fake_stripe.store import FakeStripeStore
from adapters.sql.database import create_engine
from application.ports.gateway import WebhookEndpoint
from entrypoints.fake_stripe_wiring import WEBHOOK_PATHS
from tests.support.app_client import AppClient
from tests.support.http_app import (
    BASE_URL,
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    build_test_app,
    migrated_sqlite_url,
)
from tests.support.http_flows import open_checkout, paid_booking

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return migrated_sqlite_url(tmp_path / "fake.db")
    return str(request.getfixturevalue(request.param))


@pytest.fixture
async def app(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[AppClient, FakeStripeStore]]:
    """The app, and the fake's tables read from the test (the app runs on a loop of its
    own, whose connections the test cannot use)."""
    built, _ = build_test_app(tmp_path, database_url, fake_stripe_in_database=True)
    engine = create_engine(database_url)
    async with AppClient(app=built, base_url=BASE_URL) as client:
        yield client, SqlAlchemyFakeStripeStore(engine)
    await engine.dispose()


async def _events(client: AppClient) -> list[dict[str, Any]]:
    listed = await client.get("/fake-stripe/events")
    assert listed.status_code == 200
    events: list[dict[str, Any]] = listed.json()["data"]
    return events


async def _stored_event(store: FakeStripeStore, event_id: str) -> dict[str, Any]:
    event = await store.get_event(event_id)
    assert event is not None
    body: dict[str, Any] = json.loads(event.payload)
    return body


async def _fee(store: FakeStripeStore, fee_id: str) -> dict[str, Any]:
    fee = await store.get_object(fee_id)
    assert fee is not None
    return fee.body


async def _intent(client: AppClient, tenant: dict[str, str], booking_id: str) -> str:
    detail = (await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    intent: str = detail["payment_intent"]
    assert intent.startswith("pi_")
    return intent


@pytest.mark.race
async def test_pay_pressed_eight_times_at_once_confirms_and_charges_once(
    app: tuple[AppClient, FakeStripeStore],
) -> None:
    client, store = app
    tenant, checkout = await open_checkout(client)

    presses = await asyncio.gather(
        *(client.post(checkout["checkout_url"] + "/pay", follow_redirects=False) for _ in range(8))
    )

    assert [press.status_code for press in presses] == [303] * 8
    booking_id = checkout["booking_id"]
    detail = (await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    assert detail["status"] == "confirmed"
    assert [e["kind"] for e in detail["ledger"]].count("charge") == 1
    charges = [
        charge
        for charge in await store.list_objects("charge")
        if charge.body["metadata"]["booking_id"] == booking_id
    ]
    assert [charge.body["payment_intent"] for charge in charges] == [detail["payment_intent"]]
    completed = [e for e in await _events(client) if e["type"] == "checkout.session.completed"]
    assert len(completed) == 1


async def _no_sleep(_: float) -> None:
    return None


async def _retries_sent(client: AppClient, store: FakeStripeStore) -> None:
    """Every delivery the fake has yet to retry, sent to the app now, each when it falls
    due (the fake's clock is not waited for), until each is acknowledged or given up."""

    async def to_the_app(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        return (
            await client.post(WEBHOOK_PATHS[endpoint], content=body, headers=headers)
        ).status_code

    await FakeGateway(
        store=store,
        public_base_url=BASE_URL,
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        deliver=to_the_app,
        sleep=_no_sleep,  # a retry is due at once: its due time is reached all the same
    ).wait_for_deliveries()


async def test_an_event_not_delivered_before_a_restart_is_delivered_after_it(
    database_url: str, tmp_path: Path
) -> None:
    first, first_container = build_test_app(tmp_path, database_url, fake_stripe_in_database=True)
    deliver = first_container.webhook_delivery()
    app_is_down = False

    async def until_it_goes_down(
        endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]
    ) -> int:
        return 503 if app_is_down else int(await deliver(endpoint, body, headers))

    first_container.webhook_delivery.override(providers.Object(until_it_goes_down))
    async with AppClient(app=first, base_url=BASE_URL) as client:
        tenant, checkout = await open_checkout(client)
        app_is_down = True
        paid = await client.post(checkout["checkout_url"] + "/pay", follow_redirects=False)
        assert paid.status_code == 303
        booking_url = f"/v1/tenant/bookings/{checkout['booking_id']}"
        assert (await client.get(booking_url, headers=tenant)).json()["status"] == (
            "pending_payment"
        )

    second, _ = build_test_app(tmp_path, database_url, fake_stripe_in_database=True)
    engine = create_engine(database_url)
    async with AppClient(app=second, base_url=BASE_URL) as client:
        # The new process's fake Stripe, on the same tables; nothing is left in memory.
        await _retries_sent(client, SqlAlchemyFakeStripeStore(engine))
        await engine.dispose()

        detail = (await client.get(booking_url, headers=tenant)).json()
        assert detail["status"] == "confirmed"
        [completed] = [
            e for e in await _events(client) if e["type"] == "checkout.session.completed"
        ]
        assert completed["delivered"]
        assert completed["attempts"] >= 2


async def test_a_dashboard_refund_with_the_fee_is_booked_as_stripe_made_it(
    app: tuple[AppClient, FakeStripeStore],
) -> None:
    client, store = app
    tenant, booking_id = await paid_booking(client)
    intent = await _intent(client, tenant, booking_id)

    refunded = await client.post(
        f"/fake-stripe/payments/{intent}/refund",
        json={"amount": 1000, "refund_application_fee": True},
    )

    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["refund_id"].startswith("re_")
    newest = await _events(client)
    assert [e["type"] for e in newest[:2]] == ["application_fee.refunded", "charge.refunded"]
    assert all(e["delivered"] for e in newest[:2])
    fee_event = await _stored_event(store, newest[0]["id"])
    fee = fee_event["data"]["object"]
    # 2.30 of 42.30 in proportion to 10.00: 0.5437… → 0.54 USD.
    assert (fee["amount"], fee["amount_refunded"], fee["refunded"]) == (230, 54, False)
    charge = (await _stored_event(store, newest[1]["id"]))["data"]["object"]
    assert (charge["amount_refunded"], charge["application_fee"]) == (1000, fee["id"])
    assert (await _fee(store, fee["id"]))["amount_refunded"] == 54
    detail = (await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    assert detail["refunded"] == {"amount": 1000, "currency": "usd"}


@pytest.mark.race
async def test_concurrent_dashboard_refunds_never_exceed_the_charge(
    app: tuple[AppClient, FakeStripeStore],
) -> None:
    client, store = app
    tenant, booking_id = await paid_booking(client)
    intent = await _intent(client, tenant, booking_id)

    answers = await asyncio.gather(
        *(
            client.post(f"/fake-stripe/payments/{intent}/refund", json={"amount": 1000})
            for _ in range(8)
        )
    )

    assert sorted(a.status_code for a in answers) == [200] * 4 + [409] * 4
    refunds = [r for r in await store.list_objects("refund") if r.body["payment_intent"] == intent]
    assert sorted(r.body["amount"] for r in refunds) == [1000] * 4
    [charge] = [c for c in await store.list_objects("charge") if c.body["payment_intent"] == intent]
    assert charge.body["amount_refunded"] == 4000
    # Their charge.refunded events reach Bookpay concurrently too: one that loses the race
    # for the booking to another is answered 409 (concurrent update) and Stripe sends it
    # again later. The retries falling due are sent here, not waited for.
    await _retries_sent(client, store)
    refunded = [e for e in await _events(client) if e["type"] == "charge.refunded"]
    assert len(refunded) == 4
    assert all(e["delivered"] for e in refunded), refunded
    detail = (await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    assert detail["refunded"] == {"amount": 4000, "currency": "usd"}


async def test_a_dashboard_refund_without_the_fee_leaves_the_fee_alone(
    app: tuple[AppClient, FakeStripeStore],
) -> None:
    client, store = app
    tenant, booking_id = await paid_booking(client)
    intent = await _intent(client, tenant, booking_id)

    refunded = await client.post(f"/fake-stripe/payments/{intent}/refund", json={})

    assert refunded.status_code == 200, refunded.text
    [newest, *_] = await _events(client)
    assert newest["type"] == "charge.refunded"
    charge = (await _stored_event(store, newest["id"]))["data"]["object"]
    assert (charge["amount_refunded"], charge["refunded"]) == (4230, True)
    assert (await _fee(store, charge["application_fee"]))["amount_refunded"] == 0
    again = await client.post(f"/fake-stripe/payments/{intent}/refund", json={"amount": 1})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_a_dispute_opens_withdraws_and_closes_as_stripe_says(
    app: tuple[AppClient, FakeStripeStore],
) -> None:
    client, store = app
    tenant, booking_id = await paid_booking(client)
    intent = await _intent(client, tenant, booking_id)

    opened = await client.post(
        f"/fake-stripe/payments/{intent}/dispute", json={"reason": "fraudulent"}
    )

    assert opened.status_code == 200, opened.text
    dispute_id = opened.json()["dispute_id"]
    withdrawn_event, created_event = (await _events(client))[:2]
    assert (created_event["type"], withdrawn_event["type"]) == (
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    )
    created = (await _stored_event(store, created_event["id"]))["data"]["object"]
    assert (created["id"], created["amount"], created["reason"]) == (dispute_id, 4230, "fraudulent")
    assert (created["status"], created["is_charge_refundable"]) == ("needs_response", False)
    withdrawn = (await _stored_event(store, withdrawn_event["id"]))["data"]["object"]
    [withdrawal] = withdrawn["balance_transactions"]
    assert (withdrawal["amount"], withdrawal["fee"], withdrawal["net"]) == (-4230, 1500, -5730)
    refused = await client.post(f"/fake-stripe/payments/{intent}/refund", json={})
    assert refused.status_code == 409

    won = await client.post(f"/fake-stripe/disputes/{dispute_id}/close", json={"outcome": "won"})

    assert won.status_code == 200, won.text
    assert won.json() == {"dispute_id": dispute_id, "status": "won"}
    reinstated_event, closed_event = (await _events(client))[:2]
    assert (closed_event["type"], reinstated_event["type"]) == (
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    )
    reinstated = (await _stored_event(store, reinstated_event["id"]))["data"]["object"]
    assert [t["amount"] for t in reinstated["balance_transactions"]] == [-4230, 4230]
    again = await client.post(f"/fake-stripe/disputes/{dispute_id}/close", json={"outcome": "lost"})
    assert again.status_code == 409


async def test_a_lost_dispute_sends_no_reinstatement(
    app: tuple[AppClient, FakeStripeStore],
) -> None:
    client, store = app
    tenant, booking_id = await paid_booking(client)
    intent = await _intent(client, tenant, booking_id)
    opened = await client.post(f"/fake-stripe/payments/{intent}/dispute", json={"amount": 2000})
    dispute_id = opened.json()["dispute_id"]

    lost = await client.post(f"/fake-stripe/disputes/{dispute_id}/close", json={"outcome": "lost"})

    assert lost.json() == {"dispute_id": dispute_id, "status": "lost"}
    [closed_event, *_] = await _events(client)
    assert closed_event["type"] == "charge.dispute.closed"
    closed = (await _stored_event(store, closed_event["id"]))["data"]["object"]
    assert (closed["amount"], closed["status"], closed["is_charge_refundable"]) == (
        2000,
        "lost",
        False,
    )


async def test_stripe_disabling_an_account_stops_its_tenant_selling(
    app: tuple[AppClient, FakeStripeStore],
) -> None:
    client, _ = app
    tenant, _booking = await paid_booking(client)
    status = (await client.get("/v1/tenant/connect/status", headers=tenant)).json()

    changed = await client.post(
        f"/fake-stripe/accounts/{status['account_id']}",
        json={"charges_enabled": False, "requirements_due": ["external_account"]},
    )

    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "account_id": status["account_id"],
        "charges_enabled": False,
        "payouts_enabled": True,
        "requirements_due": ["external_account"],
    }
    [updated, *_] = await _events(client)
    assert (updated["type"], updated["delivered"]) == ("account.updated", True)
    after = (await client.get("/v1/tenant/connect/status", headers=tenant)).json()
    assert (after["charges_enabled"], after["requirements_due"]) == (False, ["external_account"])


BAD_INPUT = [
    ("/fake-stripe/payments/pi_unknown/refund", {}, 404),
    ("/fake-stripe/payments/{intent}/refund", {"amount": 0}, 400),
    ("/fake-stripe/payments/{intent}/refund", {"amount": 5000}, 409),
    ("/fake-stripe/payments/{intent}/refund", {"amount": "ten"}, 400),
    ("/fake-stripe/payments/{intent}/refund", {"surprise": True}, 400),
    ("/fake-stripe/payments/{intent}/dispute", {"amount": 5000}, 422),
    ("/fake-stripe/payments/{intent}/dispute", {"reason": "bored"}, 400),
    ("/fake-stripe/disputes/dp_unknown/close", {"outcome": "won"}, 404),
    ("/fake-stripe/disputes/dp_unknown/close", {"outcome": "draw"}, 400),
    ("/fake-stripe/accounts/acct_unknown", {"charges_enabled": True}, 404),
    ("/fake-stripe/accounts/{account}", {"charges_enabled": "yes"}, 400),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_bad_dashboard_input_is_refused_with_a_problem(
    app: tuple[AppClient, FakeStripeStore],
) -> None:
    client, _ = app
    tenant, booking_id = await paid_booking(client)
    intent = await _intent(client, tenant, booking_id)
    account = (await client.get("/v1/tenant/connect/status", headers=tenant)).json()

    answers = [
        await client.post(path.format(intent=intent, account=account["account_id"]), json=body)
        for path, body, _ in BAD_INPUT
    ]

    assert [(a.status_code, a.headers["content-type"]) for a in answers] == [
        (status, "application/problem+json") for _, _, status in BAD_INPUT
    ], [a.text for a in answers]
    events = await _events(client)
    assert [e["type"] for e in events if e["type"] != "account.updated"][:1] == [
        "checkout.session.completed"
    ]
