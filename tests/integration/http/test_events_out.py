"""Events out over HTTP: a platform registers an endpoint, a local receiver verifies every
delivery with the standardwebhooks library and sees a booking's whole life; a receiver that
answers 500 gets the same event again on the schedule; the endpoint routes keep each owner
to its own."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from standardwebhooks.webhooks import Webhook

from adapters.outbound.signing import signed_headers
from application.manage_webhook_endpoints import new_secret
from domain.events import EventType
from entrypoints.container import Container
from tests.fakes.clock import ManualClock
from tests.support.app_client import AppClient
from tests.support.event_receiver import EventReceiver, event_receiver
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app
from tests.support.http_flows import OpenShop, open_shop
from tests.support.scopes import on_platform

pytestmark = pytest.mark.webhooks
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class Harness:
    client: AppClient
    container: Container
    clock: ManualClock
    receiver: EventReceiver

    async def deliver(self) -> None:
        """One relay pass, declaring the platform's row scope as the server's jobs do."""
        await on_platform(self.container.deliver_events())()


@pytest.fixture
def receiver() -> Iterator[EventReceiver]:
    with event_receiver() as running:
        yield running


# Issue 17's "done when": the end-to-end tests pass on SQLite and on PostgreSQL.
ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def harness(
    tmp_path: Path, receiver: EventReceiver, database_url: str | None
) -> AsyncIterator[Harness]:
    app, container = build_test_app(
        tmp_path,
        database_url,
        outbound_allow_private=True,
        outbound_poll_seconds=0,  # the test runs the relay itself
        outbound_retry_seconds=(2, 30),
    )
    clock = ManualClock(datetime.now(UTC))
    container.clock.override(providers.Object(clock))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Harness(client, container, clock, receiver)


async def _register(harness: Harness, **body: Any) -> dict[str, Any]:
    created = await harness.client.post(
        "/v1/admin/webhook-endpoints", json={"url": harness.receiver.url, **body}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    assert answer["secret"].startswith("whsec_")
    assert created.headers["location"] == f"/v1/admin/webhook-endpoints/{answer['id']}"
    return answer


def _verified(receiver: EventReceiver, secret: str) -> list[dict[str, Any]]:
    """Every event the receiver got once, each verified with the library."""
    events = []
    for item in receiver.unique().values():
        payload = Webhook(secret).verify(item.body, item.headers)
        assert payload["id"] == item.headers["webhook-id"]
        events.append(payload)
    return events


async def _checkout(harness: Harness, shop: OpenShop, method: str = "card") -> str:
    started = await harness.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 1, "customer": {"email": "ada@example.com"}},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert started.status_code == 201, started.text
    paid = await harness.client.post(
        started.json()["checkout_url"] + "/pay", data={"method": method}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    return str(started.json()["booking_id"])


async def test_the_platform_hears_a_booking_life_and_a_dispute_signed(harness: Harness) -> None:
    endpoint = await _register(harness, description="our platform")
    shop = await open_shop(harness.client)
    client, tenant = harness.client, shop.tenant

    booking_id = await _checkout(harness, shop, method="delayed")
    await harness.deliver()
    session = (await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    assert session["status"] == "awaiting_async_payment"
    # The delayed payment succeeds (the fake's test page, reached with the session's id).
    sessions = await harness.container.fake_gateway().list_events()
    session_id = next(
        json.loads(e.payload)["data"]["object"]["id"]
        for e in sessions
        if e.type == "checkout.session.completed" and booking_id.encode() in e.payload
    )
    succeeded = await client.post(f"/fake-stripe/checkout/{session_id}/pay", follow_redirects=False)
    assert succeeded.status_code == 303, succeeded.text
    refund = await client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds",
        json={"amount": {"amount": 500, "currency": "usd"}},
        headers=tenant,
    )
    assert refund.status_code == 201, refund.text
    cancel = await client.post(f"/v1/tenant/bookings/{booking_id}/cancel", json={}, headers=tenant)
    assert cancel.status_code == 200, cancel.text

    disputed_id = await _checkout(harness, shop)
    detail = (await client.get(f"/v1/tenant/bookings/{disputed_id}", headers=tenant)).json()
    opened = await client.post(
        f"/fake-stripe/payments/{detail['payment_intent']}/dispute", json={"reason": "fraudulent"}
    )
    assert opened.status_code == 200, opened.text
    closed = await client.post(
        f"/fake-stripe/disputes/{opened.json()['dispute_id']}/close", json={"outcome": "won"}
    )
    assert closed.status_code == 200, closed.text
    await harness.deliver()

    events = _verified(harness.receiver, endpoint["secret"])
    tenant_id = (await client.get("/v1/tenant", headers=tenant)).json()["id"]
    assert {event["tenant_id"] for event in events} == {tenant_id}
    # Per booking, the changes in the order they committed; the events of one change (a
    # cancellation and its refund) share its moment and arrive in any order.
    changes: dict[str, dict[str, set[str]]] = {}
    for event in events:
        if event["type"].startswith("booking."):
            moments = changes.setdefault(event["data"]["id"], {})
            moments.setdefault(event["created_at"], set()).add(event["type"])
    assert [types for _, types in sorted(changes[booking_id].items())] == [
        {"booking.awaiting_payment"},
        {"booking.confirmed"},
        {"booking.refunded"},
        {"booking.cancelled", "booking.refunded"},
    ]
    assert [types for _, types in sorted(changes[disputed_id].items())] == [
        {"booking.confirmed"},
        {"booking.disputed"},
        {"booking.dispute_closed"},
    ]
    assert any(e["type"] == "tenant.account_updated" for e in events)
    # `data` is the tenant's view at that moment: the confirmation shows the charge only.
    confirmed = next(
        e for e in events if e["type"] == "booking.confirmed" and e["data"]["id"] == booking_id
    )
    assert confirmed["data"]["status"] == "confirmed"
    assert confirmed["data"]["refunded"] == {"amount": 0, "currency": "usd"}
    assert "charge" in {entry["kind"] for entry in confirmed["data"]["ledger"]}
    assert confirmed["data"]["quote"]["application_fee"]["amount"] > 0

    log = await client.get(
        f"/v1/admin/webhook-endpoints/{endpoint['id']}/deliveries", headers=ADMIN
    )
    assert log.status_code == 200, log.text
    assert {d["status"] for d in log.json()["data"]} == {"delivered"}
    assert len(log.json()["data"]) == len(events)


async def test_a_refused_event_arrives_again_with_the_same_id(harness: Harness) -> None:
    endpoint = await _register(harness, events=["slot.cancelled"])
    shop = await open_shop(harness.client)
    harness.receiver.script[:] = [500, 500]
    cancelled = await harness.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel", json={}, headers=shop.tenant
    )
    assert cancelled.status_code == 200, cancelled.text

    await harness.deliver()
    harness.clock.advance(timedelta(seconds=2))
    await harness.deliver()
    log = await harness.client.get(
        f"/v1/admin/webhook-endpoints/{endpoint['id']}/deliveries", headers=ADMIN
    )
    (pending,) = log.json()["data"]
    assert (pending["status"], pending["attempts"], pending["last_response_status"]) == (
        "pending",
        2,
        500,
    )
    harness.clock.advance(timedelta(seconds=30))
    await harness.deliver()

    ids = [item.headers["webhook-id"] for item in harness.receiver.received]
    assert len(ids) == 3
    assert len(set(ids)) == 1
    (event,) = _verified(harness.receiver, endpoint["secret"])
    assert (event["type"], event["data"]["id"], event["data"]["status"]) == (
        "slot.cancelled",
        shop.slot_id,
        "cancelled",
    )
    log = await harness.client.get(
        f"/v1/admin/webhook-endpoints/{endpoint['id']}/deliveries?status=delivered",
        headers=ADMIN,
    )
    assert [(d["attempts"], d["last_response_status"]) for d in log.json()["data"]] == [(3, 200)]


async def test_a_tenant_manages_its_own_endpoints_only(harness: Harness) -> None:
    ours, theirs = await open_shop(harness.client), await open_shop(harness.client)
    client = harness.client
    created = await client.post(
        "/v1/tenant/webhook-endpoints",
        json={"url": harness.receiver.url, "events": ["booking.confirmed"]},
        headers=ours.tenant,
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    path = f"/v1/tenant/webhook-endpoints/{endpoint['id']}"
    assert (await client.get(path, headers=theirs.tenant)).status_code == 404
    assert (await client.delete(path, headers=theirs.tenant)).status_code == 404
    assert (
        await client.get(f"/v1/admin/webhook-endpoints/{endpoint['id']}", headers=ADMIN)
    ).status_code == 404
    listed = await client.get("/v1/tenant/webhook-endpoints", headers=theirs.tenant)
    assert listed.json() == {"data": [], "next_cursor": None}
    # A tenant's endpoint is bound to it: it may not name another tenant.
    foreign = await client.post(
        "/v1/tenant/webhook-endpoints",
        json={"url": harness.receiver.url, "tenant_id": "tn_other"},
        headers=ours.tenant,
    )
    assert foreign.status_code == 400, foreign.text

    changed = await client.patch(
        path, json={"events": ["slot.cancelled"], "status": "enabled"}, headers=ours.tenant
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["slot.cancelled"]
    rotated = await client.post(path + "/rotate-secret", headers=ours.tenant)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["previous_secret_until"] is not None

    for shop in (ours, theirs):
        answer = await client.post(
            f"/v1/tenant/slots/{shop.slot_id}/cancel", json={}, headers=shop.tenant
        )
        assert answer.status_code == 200, answer.text
    await harness.deliver()
    # Only our slot; signed with the new secret and the old one alongside.
    for secret in (endpoint["secret"], rotated.json()["secret"]):
        (event,) = _verified(harness.receiver, secret)
        assert (event["type"], event["data"]["id"]) == ("slot.cancelled", ours.slot_id)
    log = await client.get(path + "/deliveries", headers=ours.tenant)
    assert [d["type"] for d in log.json()["data"]] == ["slot.cancelled"]

    assert (await client.delete(path, headers=ours.tenant)).status_code == 204
    assert (await client.get(path, headers=ours.tenant)).status_code == 404


async def test_an_endpoint_must_be_public_https_unless_local_development_allows_it(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, outbound_poll_seconds=0)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        for url in (
            "http://127.0.0.1:9/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest",
            "http://hooks.example.com/hook",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://0177.0.0.1/",
            "https://127.1/",
            "https://[64:ff9b::7f00:1]/",
            "https://[::ffff:7f00:1]/",
        ):
            refused = await client.post(
                "/v1/admin/webhook-endpoints", json={"url": url}, headers=ADMIN
            )
            assert refused.status_code == 422, (url, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "detail" in refused.json(), refused.text
        unknown = await client.post(
            "/v1/admin/webhook-endpoints",
            json={"url": "https://hooks.example.com/", "events": ["booking.teleported"]},
            headers=ADMIN,
        )
        assert unknown.status_code == 400, unknown.text
        no_tenant = await client.post(
            "/v1/admin/webhook-endpoints",
            json={"url": "https://hooks.example.com/", "tenant_id": "tn_nobody"},
            headers=ADMIN,
        )
        assert no_tenant.status_code == 404, no_tenant.text
        anonymous = await client.get("/v1/admin/webhook-endpoints")
        assert anonymous.status_code == 401


async def test_every_event_payload_is_described_under_webhooks(harness: Harness) -> None:
    document = (await harness.client.get("/schema/openapi.json")).json()
    webhooks = document["webhooks"]
    assert set(webhooks) == {t.value for t in EventType}
    schemas = document["components"]["schemas"]
    for name, item in webhooks.items():
        body = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[body.rsplit("/", 1)[1]]
        assert name in schema["properties"]["type"]["enum"]
        assert {"id", "type", "created_at", "tenant_id", "data"} <= set(schema["required"])
        headers = {p["name"] for p in item["post"]["parameters"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}


async def test_metrics_count_deliveries_and_the_oldest_due_event(harness: Harness) -> None:
    await _register(harness, events=["slot.cancelled"])
    shop = await open_shop(harness.client)
    harness.receiver.script[:] = [500]
    await harness.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel", json={}, headers=shop.tenant
    )

    def metrics(text: str) -> dict[str, float]:
        return {
            line.split()[0]: float(line.split()[1])
            for line in text.splitlines()
            if line.startswith("bookpay_events_out_")
        }

    before = metrics((await harness.client.get("/metrics")).text)
    assert before["bookpay_events_out_delivery_attempts_total"] == 0
    await harness.deliver()  # answered 500: due again 2 s later
    harness.clock.advance(timedelta(seconds=7))
    waiting = metrics((await harness.client.get("/metrics")).text)
    assert waiting["bookpay_events_out_oldest_due_age_seconds"] == 5
    assert waiting["bookpay_events_out_delivery_attempts_total"] == 1
    await harness.deliver()
    after = metrics((await harness.client.get("/metrics")).text)
    assert after["bookpay_events_out_delivery_attempts_total"] == 2
    assert after["bookpay_events_out_delivered_total"] == 1
    assert after["bookpay_events_out_failed_total"] == 0
    assert after["bookpay_events_out_oldest_due_age_seconds"] == 0


def test_the_readme_receiver_verifies_a_delivery_and_refuses_a_forgery() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme[readme.index("## Events out") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    namespace: dict[str, Any] = {}
    exec(code[: code.index("```")], namespace)  # noqa: S102 - the README's own example
    receive = namespace["receive"]
    secret = new_secret()
    body = json.dumps({"id": "evt_1", "type": "booking.confirmed", "data": {}}).encode()
    headers = signed_headers("evt_1", datetime.now(UTC), body, [secret])
    assert receive(body, headers, secret)["id"] == "evt_1"
    assert receive(body.replace(b"confirmed", b"cancelled"), headers, secret) is None
    assert receive(body, headers, new_secret()) is None
