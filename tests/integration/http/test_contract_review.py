"""Issue 15's review findings over HTTP: every list paginated with the one cursor codec
(fee report, fake Stripe's events, bookings across tenants), the fee report's signed net,
429 declared wherever it can be answered, and the Idempotency-Key length of API.md."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app
from tests.support.http_flows import open_checkout, paid_booking, paid_booking_with_token

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield client


async def every_page(client: AppClient, path: str, **params: Any) -> list[Any]:
    """Follow `next_cursor` with one item a page; every item seen, in order."""
    seen: list[Any] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        answer = await client.get(path, params=query, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["data"]) <= 1
        seen += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


# --- E1 and E4: the fee report ------------------------------------------------------------


async def test_the_fee_report_is_paginated_and_its_net_may_be_negative(
    client: AppClient,
) -> None:
    await paid_booking(client)
    await paid_booking(client)

    whole = await client.get("/v1/admin/reports/fees", headers=ADMIN)
    paged = await every_page(client, "/v1/admin/reports/fees")
    forged = await client.get(
        "/v1/admin/reports/fees", params={"cursor": "nonsense"}, headers=ADMIN
    )

    assert whole.status_code == 200, whole.text
    assert len(whole.json()["data"]) == 2
    assert paged == whole.json()["data"]
    assert whole.json()["next_cursor"] is None
    assert forged.status_code == 400, forged.text
    schema = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert schema["FeeReportLine"]["properties"]["net_fees"] == {
        "$ref": "#/components/schemas/SignedMoney"
    }


# --- E2: fake Stripe's events -------------------------------------------------------------


async def test_fake_stripes_events_are_paginated_newest_first(
    client: AppClient,
) -> None:
    await paid_booking(client)

    whole = await client.get("/fake-stripe/events", params={"limit": 200})
    paged = await every_page(client, "/fake-stripe/events")
    forged = await client.get("/fake-stripe/events", params={"cursor": "nonsense"})

    events = whole.json()["data"]
    assert len(events) >= 2  # onboarding, checkout
    assert paged == events
    assert [e["id"] for e in events] == [e["id"] for e in paged]
    assert forged.status_code == 400, forged.text


# --- E3: bookings across tenants ----------------------------------------------------------


async def test_the_admin_lists_bookings_across_tenants(client: AppClient) -> None:
    first_tenant, first = await paid_booking(client)
    _, second = await paid_booking(client)
    profile = await client.get("/v1/tenant", headers=first_tenant)

    everyone = await every_page(client, "/v1/admin/bookings")
    one = await client.get(
        "/v1/admin/bookings", params={"tenant_id": profile.json()["id"]}, headers=ADMIN
    )

    assert [b["id"] for b in everyone] == [second, first]  # newest first
    assert [b["id"] for b in one.json()["data"]] == [first]


# --- E5: 429 declared wherever it is answered ----------------------------------------------


async def test_every_429_the_token_routes_answer_is_declared_with_retry_after(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, auth_failures_per_minute=2)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        _, checkout = await open_checkout(client)
        booking = f"/v1/public/bookings/{checkout['booking_id']}"
        wrong = {"token": "x" * 40}
        routes = [
            ("get", "/v1/public/bookings/{booking_id}", booking),
            ("post", "/v1/public/bookings/{booking_id}/cancel", booking + "/cancel"),
            ("get", "/v1/public/bookings/{booking_id}/checkout-left", booking + "/checkout-left"),
        ]
        document = (await client.get("/schema/openapi.json")).json()
        for method, template, path in routes:
            for _ in range(5):
                answer = await client.request(method, path, params=wrong)
                if answer.status_code == 429:
                    break
            assert answer.status_code == 429, (path, answer.status_code)
            assert answer.headers["retry-after"].isdigit()
            declared = document["paths"][template][method]["responses"]["429"]
            assert "Retry-After" in declared["headers"], template
            # What the route answers is what it declares: problem details on the API, an
            # HTML page where a browser comes back from Checkout (checkout-left).
            sent = answer.headers["content-type"].split(";")[0]
            assert sent in declared["content"], (template, sent, declared["content"])


# --- E6: the Idempotency-Key on the customer's cancel ---------------------------------------


async def test_a_customers_cancel_takes_any_idempotency_key_api_md_allows(
    client: AppClient,
) -> None:
    _, booking_id, token = await paid_booking_with_token(client)
    path = f"/v1/public/bookings/{booking_id}/cancel"

    first = await client.post(path, params={"token": token}, headers={"Idempotency-Key": "k1"})
    again = await client.post(path, params={"token": token}, headers={"Idempotency-Key": "k1"})
    short_checkout = await client.post(
        "/v1/public/nobody/checkout",
        json={"slot_id": "sl_x", "seats": 1, "customer": {"email": "a@b.example"}},
        headers={"Idempotency-Key": "k1"},
    )

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.content == first.content
    assert short_checkout.status_code == 400, short_checkout.text
