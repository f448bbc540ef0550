"""Review of issue 14, findings 4, 5, 7 and 11: an idempotent replay needs the caller's
credential, the idempotency table holds no secret in a form a database dump reveals, and a
wrong booking token writes nothing and is throttled like a wrong API key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.sql import orm
from tests.integration.http.test_abuse_limits import _throttled
from tests.support.app_client import AppClient
from tests.support.hard_edges import (
    ADMIN,
    Edge,
    checkout_body,
    expect_problem,
    new_shop,
)
from tests.support.http_app import BASE_URL, build_test_app


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Edge]:
    app, container = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Edge(client, container)


async def _raw_rows(edge: Edge) -> list[tuple[Any, ...]]:
    async with edge.container.engine().connect() as connection:
        return [tuple(row) for row in await connection.execute(select(orm.idempotency_keys))]


def _appears(secret: str, rows: list[tuple[Any, ...]]) -> bool:
    for row in rows:
        for value in row:
            raw = value if isinstance(value, bytes) else str(value).encode()
            if secret.encode() in raw:
                return True
    return False


async def _hold(edge: Edge) -> tuple[str, str]:
    shop = await new_shop(edge.client)
    started = await edge.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json=checkout_body(shop, customer={"email": "private@example.com", "name": "Ada"}),
    )
    assert started.status_code == 201, started.text
    return started.json()["booking_id"], started.json()["booking_token"]


# --- 4. A replay needs the credential -----------------------------------------------------


async def test_a_replay_without_the_booking_token_reveals_nothing(edge: Edge) -> None:
    booking_id, token = await _hold(edge)
    key = {"Idempotency-Key": f"cancel-{uuid.uuid4()}"}
    path = f"/v1/public/bookings/{booking_id}/cancel"
    first = await edge.client.post(path, headers=key | {"Authorization": f"Bearer {token}"})
    assert first.status_code == 200, first.text
    for others in ({}, {"Authorization": "Bearer wrong-token-1234"}):
        replay = await edge.client.post(path, headers=key | others)
        assert replay.status_code in (401, 404, 409), replay.text
        assert "private@example.com" not in replay.text
        assert "idempotent-replayed" not in replay.headers
    # A token in the query is a credential too: the wrong one replays nothing.
    replay = await edge.client.post(path, params={"token": "wrong-token-1234"}, headers=key)
    assert "private@example.com" not in replay.text
    again = await edge.client.post(path, headers=key | {"Authorization": f"Bearer {token}"})
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


# --- 5. No secret in the idempotency table ------------------------------------------------


async def test_secrets_shown_once_are_not_kept_readable_for_replays(edge: Edge) -> None:
    tenant_key = f"create-{uuid.uuid4()}"
    body = {
        "name": "Studio",
        "slug": f"studio-{uuid.uuid4().hex[:8]}",
        "country": "US",
        "default_currency": "usd",
        "timezone": "UTC",
    }
    created = await edge.client.post(
        "/v1/admin/tenants", json=body, headers=ADMIN | {"Idempotency-Key": tenant_key}
    )
    assert created.status_code == 201, created.text
    tenant_id, first_api_key = created.json()["tenant"]["id"], created.json()["api_key"]
    rotate_key = "rot-1"
    rotated = await edge.client.post(
        f"/v1/admin/tenants/{tenant_id}/api-keys", headers=ADMIN | {"Idempotency-Key": rotate_key}
    )
    assert rotated.status_code == 201, rotated.text
    shop = await new_shop(edge.client)
    checkout_key = str(uuid.uuid4())
    started = await edge.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json=checkout_body(shop),
        headers={"Idempotency-Key": checkout_key},
    )
    assert started.status_code == 201, started.text

    rows = await _raw_rows(edge)
    assert len(rows) >= 3
    secrets = [
        first_api_key,
        rotated.json()["api_key"],
        started.json()["booking_token"],
        started.json()["booking_id"],
        tenant_key,
        rotate_key,
        checkout_key,
    ]
    for secret in secrets:
        assert not _appears(secret, rows), secret

    # The same client retrying still gets its answer, secret included.
    again = await edge.client.post(
        "/v1/admin/tenants", json=body, headers=ADMIN | {"Idempotency-Key": tenant_key}
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["api_key"] == first_api_key
    replayed = await edge.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json=checkout_body(shop),
        headers={"Idempotency-Key": checkout_key},
    )
    assert replayed.json()["booking_token"] == started.json()["booking_token"]


# --- 6. A wrong booking token writes nothing, and guessing is throttled -----------------


async def test_a_wrong_booking_token_writes_no_idempotency_row(edge: Edge) -> None:
    booking_id, _ = await _hold(edge)
    before = await edge.idempotency_rows()
    for n in range(5):
        for booking in (booking_id, f"bk_nope{n}"):
            response = await edge.client.post(
                f"/v1/public/bookings/{booking}/cancel",
                params={"token": "abcdefghij"},
                headers={"Idempotency-Key": f"junk-key-0123456789abcdef-{n}-{booking}"},
            )
            expect_problem(response, 404)
    assert await edge.idempotency_rows() == before


async def test_booking_token_guesses_past_the_limit_are_throttled(tmp_path: Path) -> None:
    app, container = build_test_app(tmp_path, auth_failures_per_minute=3)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        edge = Edge(client, container)
        booking_id, token = await _hold(edge)
        path = f"/v1/public/bookings/{booking_id}"
        assert (await client.get(path, headers={"Authorization": f"Bearer {token}"})).is_success
        for guess in range(3):
            expect_problem(await client.get(path, params={"token": f"guess-{guess}-xyz"}), 404)
        _throttled(await client.post(f"{path}/cancel", params={"token": "guess-4-xyz"}))
        _throttled(await client.get(path, headers={"Authorization": f"Bearer {token}"}))


# --- 7. Metrics count the status that was sent ----------------------------------------


async def test_metrics_count_refusals_by_the_status_sent(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path, auth_failures_per_minute=1)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        expect_problem(await client.get("/v1/admin/tenants"), 401)
        expect_problem(await client.get("/v1/admin/tenants"), 429)
        expect_problem(
            await client.post("/v1/admin/tenants", headers=ADMIN | {"Idempotency-Key": ""}), 429
        )
        expect_problem(await client.get("/v1/public/x%00/offerings"), 400)
        metrics = (await client.get("/metrics")).text
    assert 'method="GET",route="/v1/admin/tenants",status="401"} 1' in metrics, metrics
    assert 'method="GET",route="/v1/admin/tenants",status="429"} 1' in metrics, metrics
    assert 'method="POST",route="/v1/admin/tenants",status="429"} 1' in metrics, metrics
    assert 'status="400"} 1' in metrics, metrics
    assert 'status="500"' not in metrics, metrics


# --- 10. What a replay and the in-progress answer carry ----------------------------------


async def test_a_replayed_creation_keeps_its_location(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/public/{shop.slug}/checkout"
    first = await edge.client.post(path, json=checkout_body(shop), headers=key)
    again = await edge.client.post(path, json=checkout_body(shop), headers=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == first.headers["content-type"]


async def test_two_idempotency_keys_are_a_bad_request(edge: Edge) -> None:
    response = await edge.client.post(
        "/v1/admin/tenants",
        json={"name": "x"},
        headers=[
            ("Authorization", ADMIN["Authorization"]),
            ("Idempotency-Key", "one"),
            ("Idempotency-Key", "two"),
        ],
    )
    expect_problem(response, 400)
    assert await edge.idempotency_rows() == 0


# --- 8. Seats held per client address ----------------------------------------------------


async def test_one_address_cannot_hold_seats_without_limit_by_changing_emails(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, held_seats_per_client_per_hour=10)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await new_shop(client, capacity=30)
        path = f"/v1/public/{shop.slug}/checkout"
        for n, seats in enumerate((8, 2)):
            body = checkout_body(shop, seats=seats, customer={"email": f"c{n}@example.com"})
            response = await client.post(path, json=body)
            assert response.status_code == 201, response.text
        body = checkout_body(shop, seats=1, customer={"email": "c9@example.com"})
        _throttled(await client.post(path, json=body))
        availability = await client.get(
            f"/v1/public/{shop.slug}/offerings/{shop.offering_id}/slots"
        )
        assert availability.json()["data"][0]["seats_available"] == 20
