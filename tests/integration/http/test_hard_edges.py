"""Hard edges (issue 14): abusive or malformed input answers 4xx problem details, never a
500, and writes nothing it should not."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.stripe_wire.signature import sign
from tests.support.app_client import AppClient
from tests.support.hard_edges import (
    ADMIN,
    Edge,
    checkout_body,
    expect_problem,
    new_shop,
)
from tests.support.http_app import ADMIN_KEY, BASE_URL, WEBHOOK_SECRET, build_test_app


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Edge]:
    app, container = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Edge(client, container)


# --- 1. The idempotency mechanism ------------------------------------------------------


async def test_junk_credentials_with_a_key_write_nothing(edge: Edge) -> None:
    for path in ("/v1/admin/tenants", "/v1/tenant/offerings"):
        response = await edge.client.post(
            path,
            content=b"{}",
            headers={
                "Authorization": "Bearer junk",
                "Idempotency-Key": "k-1",
                "content-type": "application/json",
            },
        )
        expect_problem(response, 401)
    assert await edge.idempotency_rows() == 0


async def test_a_body_over_the_limit_is_refused_while_it_is_read(edge: Edge) -> None:
    """64 MiB offered in 1 MiB chunks: refused after the second, not buffered whole."""
    chunks_read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b" " * 1024 * 1024, "more_body": chunks_read < 64}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/admin/tenants",
        "raw_path": b"/v1/admin/tenants",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver.local"),
            (b"authorization", f"Bearer {ADMIN_KEY}".encode()),
            (b"idempotency-key", b"big-1"),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    await edge.client.app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert chunks_read <= 2
    assert await edge.idempotency_rows() == 0


@pytest.mark.parametrize("key", ["x" * 256, "", "tab\tkey"])
async def test_a_key_out_of_bounds_is_refused_not_ignored(edge: Edge, key: str) -> None:
    shop = await new_shop(edge.client)
    response = await edge.client.post(
        f"/v1/tenant/offerings/{shop.offering_id}/slots",
        json={"starts_at": (datetime.now(UTC) + timedelta(days=9)).isoformat()},
        headers=shop.tenant | {"Idempotency-Key": key},
    )
    expect_problem(response, 400)


async def test_a_public_checkout_key_must_be_unguessable(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    response = await edge.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json=checkout_body(shop),
        headers={"Idempotency-Key": "order-1"},
    )
    expect_problem(response, 400)
    key = str(uuid.uuid4())
    first = await edge.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json=checkout_body(shop),
        headers={"Idempotency-Key": key},
    )
    again = await edge.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json=checkout_body(shop),
        headers={"Idempotency-Key": key},
    )
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await edge.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json=checkout_body(shop, seats=2),
        headers={"Idempotency-Key": key},
    )
    expect_problem(other, 409)


async def test_the_openapi_document_declares_the_key_on_every_post(edge: Edge) -> None:
    document = (await edge.client.get("/schema/openapi.json")).json()
    posts = [
        (path, item["post"])
        for path, item in document["paths"].items()
        if "post" in item and path.startswith("/v1/") and not path.startswith("/v1/webhooks")
    ]
    assert posts
    for path, operation in posts:
        names = [p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"]
        assert names.count("idempotency-key") == 1, path


# --- 2. Client input never gives a 500 --------------------------------------------------


async def test_invalid_utf8_in_a_json_body_is_a_bad_request(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    bad = b'{"slot_id": "\xff\xfe", "seats": 1, "customer": {"email": "a@example.com"}}'
    json_type = {"content-type": "application/json"}
    expect_problem(
        await edge.client.post(f"/v1/public/{shop.slug}/checkout", content=bad, headers=json_type),
        400,
    )
    expect_problem(
        await edge.client.post("/v1/admin/tenants", content=bad, headers=ADMIN | json_type), 400
    )


@pytest.mark.parametrize("cursor", ["", "!!!", "e30", "bm90IGpzb24", "WzEsMl0"])
async def test_a_malformed_cursor_is_a_bad_request(edge: Edge, cursor: str) -> None:
    shop = await new_shop(edge.client)
    expect_problem(
        await edge.client.get(
            "/v1/tenant/bookings", params={"cursor": cursor}, headers=shop.tenant
        ),
        400,
    )
    expect_problem(
        await edge.client.get("/v1/admin/tenants", params={"cursor": cursor}, headers=ADMIN), 400
    )


@pytest.mark.parametrize(
    "moment",
    [
        "2030-01-01T10:00:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:04:00+03:00",
        "not a time",
    ],
)
async def test_a_time_without_offset_or_out_of_range_is_a_bad_request(
    edge: Edge, moment: str
) -> None:
    shop = await new_shop(edge.client)
    for path, headers in (
        (f"/v1/public/{shop.slug}/offerings/{shop.offering_id}/slots", {}),
        ("/v1/tenant/bookings", shop.tenant),
        ("/v1/tenant/statement", shop.tenant),
        ("/v1/admin/reports/fees", ADMIN),
    ):
        for name in ("from", "to"):
            response = await edge.client.get(path, params={name: moment}, headers=headers)
            expect_problem(response, 400)


async def test_nul_characters_are_refused_at_the_edge(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    expect_problem(
        await edge.client.post(
            f"/v1/public/{shop.slug}/checkout",
            json=checkout_body(shop, customer={"email": "a@example.com", "name": "A\x00B"}),
        ),
        400,
    )
    expect_problem(
        await edge.client.post(
            f"/v1/public/{shop.slug}/checkout", json=checkout_body(shop, slot_id="sl\x00x")
        ),
        400,
    )
    expect_problem(await edge.client.get(f"/v1/public/{shop.slug}%00/offerings"), 400)
    expect_problem(
        await edge.client.get("/v1/public/bookings/bk_1", params={"token": "abcdefgh\x00"}), 400
    )
    started = await edge.client.post(f"/v1/public/{shop.slug}/checkout", json=checkout_body(shop))
    booking_id = started.json()["booking_id"]
    expect_problem(
        await edge.client.post(
            f"/v1/tenant/bookings/{booking_id}/cancel",
            json={"reason": "gone\x00"},
            headers=shop.tenant,
        ),
        400,
    )
    booking = await edge.client.get(f"/v1/tenant/bookings/{booking_id}", headers=shop.tenant)
    assert booking.json()["status"] == "pending_payment"


async def test_a_deeply_nested_signed_webhook_is_a_bad_request(edge: Edge) -> None:
    payload = b'{"id": "evt_1", "type": "x", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await edge.client.post(
        "/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET, datetime.now(UTC))},
    )
    expect_problem(response, 400)


# --- 6. Loose parsing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
async def test_a_body_that_is_not_declared_json_is_unsupported(
    edge: Edge, content_type: str | None
) -> None:
    shop = await new_shop(edge.client)
    body = json.dumps(checkout_body(shop)).encode()
    headers = {"content-type": content_type} if content_type else {}
    response = await edge.client.post(
        f"/v1/public/{shop.slug}/checkout", content=body, headers=headers
    )
    expect_problem(response, 415)


async def test_credentials_are_checked_before_the_body(edge: Edge) -> None:
    for path in ("/v1/tenant/offerings", "/v1/admin/tenants"):
        for body in (b"{", b'{"name": 7}', b"\xff"):
            response = await edge.client.post(
                path,
                content=body,
                headers={"content-type": "application/json", "Authorization": "Bearer nope"},
            )
            expect_problem(response, 401)
        expect_problem(await edge.client.post(path, content=b"{"), 401)


async def test_every_problem_has_a_bookpay_type(edge: Edge) -> None:
    expect_problem(await edge.client.get("/v1/admin/tenants"), 401)
    expect_problem(await edge.client.get("/v1/nothing-here"), 404)
    expect_problem(await edge.client.put("/health/live"), 405)
    body = expect_problem(
        await edge.client.post("/v1/admin/tenants", json={"name": 7}, headers=ADMIN), 400
    )
    assert body["errors"]


# --- 3. Open redirect --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["https://evil.example/phish", "http://127.0.0.1@evil.example/", "http://x.local/"]
)
@pytest.mark.parametrize("field", ["success_url", "cancel_url"])
async def test_a_return_url_off_the_allow_list_is_refused(edge: Edge, field: str, url: str) -> None:
    shop = await new_shop(edge.client)
    body = expect_problem(
        await edge.client.post(
            f"/v1/public/{shop.slug}/checkout", json=checkout_body(shop) | {field: url}
        ),
        422,
    )
    assert body["type"] == "urn:bookpay:problem:return-url-not-allowed"
    availability = await edge.client.get(
        f"/v1/public/{shop.slug}/offerings/{shop.offering_id}/slots"
    )
    assert availability.json()["data"][0]["seats_available"] == 5


async def test_a_return_url_on_the_allow_list_is_used(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path, allowed_return_hosts=("shop.example",))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await new_shop(client)
        response = await client.post(
            f"/v1/public/{shop.slug}/checkout",
            json=checkout_body(shop, success_url="https://shop.example/thanks"),
        )
        assert response.status_code == 201, response.text


# --- 7. The booking token ----------------------------------------------------------------


async def test_the_booking_token_may_travel_as_a_bearer_header(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    started = (
        await edge.client.post(f"/v1/public/{shop.slug}/checkout", json=checkout_body(shop))
    ).json()
    path = f"/v1/public/bookings/{started['booking_id']}"
    bearer = {"Authorization": f"Bearer {started['booking_token']}"}
    seen = await edge.client.get(path, headers=bearer)
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "pending_payment"
    expect_problem(
        await edge.client.get(path, headers={"Authorization": "Bearer wrong-token"}), 404
    )
    expect_problem(await edge.client.get(path), 401)
    expect_problem(await edge.client.post(f"{path}/cancel"), 401)
    expect_problem(
        await edge.client.post(f"{path}/cancel", headers={"Authorization": "Bearer x" * 3}), 404
    )
    # The right token is accepted: what follows is the booking's own rule for cancelling.
    cancelled = await edge.client.post(f"{path}/cancel", headers=bearer)
    assert cancelled.status_code not in (400, 401, 404), cancelled.text
