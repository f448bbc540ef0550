"""A valid signature proves the sender, not the facts (issue 12, "What was seen" 4 and 5).

Each case posts a correctly signed event to the webhook endpoints, on SQLite and
PostgreSQL: an event whose amount, currency or account does not match its booking is not
applied on its word (the session is fetched and decides); an event of the other mode
(live/test) is acknowledged and ignored; an older `account.updated` never overwrites a
newer one, in either direction; the event's `account` is trusted over `data.object.id`;
a signature timestamp outside 300 s either way is refused.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from adapters.stripe_wire import signature as stripe_signature
from application.ports.gateway import WebhookEndpoint
from tests.support.app_client import AppClient
from tests.support.http_app import (
    BASE_URL,
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    build_test_app,
)
from tests.support.http_flows import open_shop

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]

Deliver = Callable[[WebhookEndpoint, bytes, dict[str, str]], Awaitable[int]]


@dataclass
class Harness:
    client: AppClient
    # While True, the fake's own deliveries are lost on the way (Stripe's webhook is late).
    dropping: list[bool] = field(default_factory=lambda: [False])

    async def post_event(
        self,
        event: dict[str, Any],
        endpoint: WebhookEndpoint = WebhookEndpoint.PLATFORM,
        signed_at: datetime | None = None,
    ) -> Any:
        body = json.dumps(event).encode()
        secret = WEBHOOK_SECRET if endpoint is WebhookEndpoint.PLATFORM else CONNECT_WEBHOOK_SECRET
        path = "/v1/webhooks/stripe" + ("" if endpoint is WebhookEndpoint.PLATFORM else "/connect")
        header = stripe_signature.sign(body, secret, signed_at or datetime.now(UTC))
        return await self.client.post(
            path,
            content=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def harness(database_url: str | None, tmp_path: Path) -> AsyncIterator[Harness]:
    app, container = build_test_app(tmp_path, database_url)
    delivered: Deliver = container.webhook_delivery()
    dropping = [False]

    async def deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        return 503 if dropping[0] else await delivered(endpoint, body, headers)

    container.webhook_delivery.override(providers.Object(deliver))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Harness(client, dropping)


@dataclass
class Shop:
    tenant: dict[str, str]
    slug: str
    account_id: str
    slot_id: str


async def _shop(client: AppClient) -> Shop:
    """An onboarded tenant (5 % + 0.30 USD borne by the customer) with one slot for sale."""
    opened = await open_shop(client)
    tenant = opened.tenant
    status = (await client.get("/v1/tenant/connect/status", headers=tenant)).json()
    assert status["charges_enabled"] is True
    return Shop(tenant, opened.slug, status["account_id"], opened.slot_id)


@dataclass
class Checkout:
    booking_id: str
    session_id: str
    url: str


async def _checkout(client: AppClient, shop: Shop) -> Checkout:
    """Two seats of 20.00 USD, 42.30 USD with the service fee; not paid yet."""
    started = await client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 2, "customer": {"email": "ada@example.com"}},
    )
    assert started.status_code == 201, started.text
    url = started.json()["checkout_url"]
    return Checkout(started.json()["booking_id"], url.rstrip("/").rsplit("/", 1)[-1], url)


def _event(event_type: str, obj: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2023-08-16",
        "created": int(datetime.now(UTC).timestamp()),
        "livemode": False,
        "account": None,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
        **envelope,
    }


def _completed(
    checkout: Checkout, amount_total: int = 4230, currency: str = "usd", **envelope: Any
) -> dict[str, Any]:
    return _event(
        "checkout.session.completed",
        {
            "id": checkout.session_id,
            "object": "checkout.session",
            "status": "complete",
            "payment_status": "paid",
            "amount_total": amount_total,
            "currency": currency,
            "client_reference_id": checkout.booking_id,
            "metadata": {"booking_id": checkout.booking_id},
            "payment_intent": "pi_claimed_by_the_event",
        },
        **envelope,
    )


def _account(
    account_id: str, *, charges_enabled: bool, created: datetime, **envelope: Any
) -> dict[str, Any]:
    return _event(
        "account.updated",
        {
            "id": account_id,
            "object": "account",
            "charges_enabled": charges_enabled,
            "payouts_enabled": charges_enabled,
            "details_submitted": True,
            "requirements": {"currently_due": [] if charges_enabled else ["external_account"]},
        },
        **{"account": account_id, "created": int(created.timestamp()), **envelope},
    )


async def _booking(client: AppClient, shop: Shop, booking_id: str) -> Any:
    answer = await client.get(f"/v1/tenant/bookings/{booking_id}", headers=shop.tenant)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _can_sell(client: AppClient, shop: Shop) -> bool:
    return bool((await client.get("/v1/tenant", headers=shop.tenant)).json()["can_sell"])


# --- "Signed but false" ----------------------------------------------------------------

FALSE_COMPLETIONS = [
    pytest.param({"amount_total": 1}, WebhookEndpoint.PLATFORM, id="amount-1"),
    pytest.param({"currency": "jpy"}, WebhookEndpoint.PLATFORM, id="currency-jpy"),
    pytest.param({"account": "acct_someone_else"}, WebhookEndpoint.CONNECT, id="other-account"),
]


@pytest.mark.parametrize(("lie", "endpoint"), FALSE_COMPLETIONS)
async def test_a_signed_completion_that_contradicts_the_booking_confirms_nothing(
    harness: Harness, lie: dict[str, Any], endpoint: WebhookEndpoint
) -> None:
    shop = await _shop(harness.client)
    checkout = await _checkout(harness.client, shop)

    answer = await harness.post_event(_completed(checkout, **lie), endpoint)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "ignored"
    booking = await _booking(harness.client, shop, checkout.booking_id)
    assert booking["status"] == "pending_payment"
    assert booking["ledger"] == []


@pytest.mark.parametrize(("lie", "endpoint"), FALSE_COMPLETIONS)
async def test_when_the_session_was_really_paid_the_fetched_session_decides(
    harness: Harness, lie: dict[str, Any], endpoint: WebhookEndpoint
) -> None:
    shop = await _shop(harness.client)
    checkout = await _checkout(harness.client, shop)
    harness.dropping[0] = True  # the customer pays; Stripe's own event is late
    paid = await harness.client.post(
        checkout.url + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text

    answer = await harness.post_event(_completed(checkout, **lie), endpoint)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "applied"
    booking = await _booking(harness.client, shop, checkout.booking_id)
    assert booking["status"] == "confirmed"
    # Recorded with the payment Stripe made, not the one the event claimed: it refunds.
    refund = await harness.client.post(
        f"/v1/tenant/bookings/{checkout.booking_id}/refunds",
        json={"amount": {"amount": 1000, "currency": "usd"}},
        headers=shop.tenant,
    )
    assert refund.status_code == 201, refund.text
    booking = await _booking(harness.client, shop, checkout.booking_id)
    ledger = sorted(
        (e["kind"], e["amount"]["amount"], e["amount"]["currency"]) for e in booking["ledger"]
    )
    assert [entry for entry in ledger if entry[0] in ("charge", "application_fee")] == [
        ("application_fee", 230, "usd"),
        ("charge", 4230, "usd"),
    ]


async def test_a_completion_that_matches_its_booking_confirms_it(harness: Harness) -> None:
    shop = await _shop(harness.client)
    checkout = await _checkout(harness.client, shop)
    harness.dropping[0] = True
    await harness.client.post(
        checkout.url + "/pay", data={"method": "card"}, follow_redirects=False
    )

    answer = await harness.post_event(_completed(checkout))

    assert answer.json()["outcome"] == "applied"
    assert (await _booking(harness.client, shop, checkout.booking_id))["status"] == "confirmed"


@pytest.mark.parametrize(
    "skew",
    [
        pytest.param(timedelta(days=3 * 365), id="years-ahead"),
        pytest.param(timedelta(seconds=301), id="301s-ahead"),
        pytest.param(-timedelta(seconds=301), id="301s-behind"),
    ],
)
async def test_a_signature_outside_the_tolerance_either_way_is_refused(
    harness: Harness, skew: timedelta
) -> None:
    shop = await _shop(harness.client)
    checkout = await _checkout(harness.client, shop)

    answer = await harness.post_event(_completed(checkout), signed_at=datetime.now(UTC) + skew)

    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await _booking(harness.client, shop, checkout.booking_id))[
        "status"
    ] == "pending_payment"


async def test_a_signature_a_little_ahead_of_our_clock_is_accepted(harness: Harness) -> None:
    shop = await _shop(harness.client)
    checkout = await _checkout(harness.client, shop)

    answer = await harness.post_event(
        _completed(checkout, amount_total=1), signed_at=datetime.now(UTC) + timedelta(seconds=60)
    )

    assert answer.status_code == 200, answer.text


# --- "Stale or foreign snapshots" ------------------------------------------------------


async def test_an_older_disabled_snapshot_does_not_stop_a_tenant_that_can_sell(
    harness: Harness,
) -> None:
    shop = await _shop(harness.client)
    now = datetime.now(UTC)
    newer = _account(shop.account_id, charges_enabled=True, created=now)
    older = _account(shop.account_id, charges_enabled=False, created=now - timedelta(seconds=120))

    assert (await harness.post_event(newer, WebhookEndpoint.CONNECT)).status_code == 200
    assert (await harness.post_event(older, WebhookEndpoint.CONNECT)).status_code == 200

    assert await _can_sell(harness.client, shop)


async def test_an_older_enabled_snapshot_does_not_re_enable_a_tenant_stripe_disabled(
    harness: Harness,
) -> None:
    shop = await _shop(harness.client)
    now = datetime.now(UTC)
    newer = _account(shop.account_id, charges_enabled=False, created=now)
    older = _account(shop.account_id, charges_enabled=True, created=now - timedelta(seconds=120))
    harness.dropping[0] = True  # Stripe disables the account; its own event comes below
    disabled = await harness.client.post(
        f"/fake-stripe/accounts/{shop.account_id}",
        json={"charges_enabled": False, "requirements_due": ["external_account"]},
    )
    assert disabled.status_code == 200, disabled.text
    harness.dropping[0] = False

    assert (await harness.post_event(newer, WebhookEndpoint.CONNECT)).status_code == 200
    assert not await _can_sell(harness.client, shop)
    assert (await harness.post_event(older, WebhookEndpoint.CONNECT)).status_code == 200

    assert not await _can_sell(harness.client, shop)
    refused = await harness.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 1, "customer": {"email": "ada@example.com"}},
    )
    assert refused.status_code == 422, refused.text


async def test_an_event_of_the_other_mode_is_acknowledged_and_changes_nothing(
    harness: Harness,
) -> None:
    shop = await _shop(harness.client)
    live = _account(
        shop.account_id,
        charges_enabled=False,
        created=datetime.now(UTC) + timedelta(seconds=1),
        livemode=True,
    )

    answer = await harness.post_event(live, WebhookEndpoint.CONNECT)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "ignored"
    assert await _can_sell(harness.client, shop)


async def test_a_live_payment_event_does_not_confirm_a_test_booking(harness: Harness) -> None:
    shop = await _shop(harness.client)
    checkout = await _checkout(harness.client, shop)
    harness.dropping[0] = True
    await harness.client.post(
        checkout.url + "/pay", data={"method": "card"}, follow_redirects=False
    )

    answer = await harness.post_event(_completed(checkout, livemode=True))

    assert answer.json()["outcome"] == "ignored"
    assert (await _booking(harness.client, shop, checkout.booking_id))[
        "status"
    ] == "pending_payment"


async def test_the_events_account_is_trusted_over_the_objects_id(harness: Harness) -> None:
    first = await _shop(harness.client)
    second = await _shop(harness.client)
    event = _account(
        second.account_id,
        charges_enabled=False,
        created=datetime.now(UTC) + timedelta(seconds=1),
        account=first.account_id,
    )

    answer = await harness.post_event(event, WebhookEndpoint.CONNECT)

    assert answer.status_code == 200, answer.text
    assert await _can_sell(harness.client, second)
    assert await _can_sell(harness.client, first)
