"""Abuse (issue 14, "Abuse"): checkouts and failed authentications are limited per client
address (429 with Retry-After), and one customer cannot keep more than a few unpaid holds."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.rate_limits.limiter import RateLimits
from domain.hold import MAX_PENDING_HOLDS_PER_CUSTOMER
from tests.support.app_client import AppClient
from tests.support.hard_edges import checkout_body, expect_problem, new_shop
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app
from tests.support.workers import worker_id

REDIS_URL = os.environ.get("BOOKPAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _throttled(response: Any) -> None:
    body = expect_problem(response, 429)
    assert body["type"] == "urn:bookpay:problem:too-many-requests"
    assert int(response.headers["retry-after"]) >= 1


async def test_checkouts_past_the_limit_per_client_are_throttled(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path, checkout_limit_per_minute=2)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await new_shop(client)
        for n in range(2):
            body = checkout_body(shop, customer={"email": f"c{n}@example.com"})
            response = await client.post(f"/v1/public/{shop.slug}/checkout", json=body)
            assert response.status_code == 201, response.text
        _throttled(await client.post(f"/v1/public/{shop.slug}/checkout", json=checkout_body(shop)))
        availability = await client.get(
            f"/v1/public/{shop.slug}/offerings/{shop.offering_id}/slots"
        )
        assert availability.json()["data"][0]["seats_available"] == 3


async def test_admin_key_guesses_past_the_limit_are_throttled(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path, auth_failures_per_minute=3)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert (await client.get("/v1/admin/tenants", headers=admin)).status_code == 200
        for guess in range(3):
            guessed = {"Authorization": f"Bearer guess-{guess}"}
            expect_problem(await client.get("/v1/admin/tenants", headers=guessed), 401)
        _throttled(await client.get("/v1/admin/tenants", headers={"Authorization": "Bearer g"}))
        # Past the limit the address is refused even with the right key: guessing stops.
        _throttled(await client.get("/v1/admin/tenants", headers=admin))
        _throttled(await client.get("/v1/tenant", headers={"Authorization": "Bearer t"}))


async def test_a_customer_cannot_hold_more_than_a_few_unpaid_checkouts(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await new_shop(client, capacity=50)
        checkout = f"/v1/public/{shop.slug}/checkout"
        for _ in range(MAX_PENDING_HOLDS_PER_CUSTOMER):
            response = await client.post(checkout, json=checkout_body(shop))
            assert response.status_code == 201, response.text
        same_person = checkout_body(shop, customer={"email": "A@Example.com"})
        body = expect_problem(await client.post(checkout, json=same_person), 409)
        assert body["type"] == "urn:bookpay:problem:too-many-pending-holds"
        other = checkout_body(shop, customer={"email": "b@example.com"})
        assert (await client.post(checkout, json=other)).status_code == 201


async def test_the_limits_in_redis_hold_across_processes() -> None:
    """Two servers (two RateLimits on one Redis) count one client against one limit."""
    namespace = f"bookpay-test-{worker_id()}-{uuid.uuid4().hex}"
    first, second = (
        RateLimits(
            checkouts_per_minute=3,
            auth_failures_per_minute=2,
            redis_url=REDIS_URL,
            namespace=namespace,
        )
        for _ in range(2)
    )
    assert await first.take_checkout("203.0.113.7") is None
    assert await second.take_checkout("203.0.113.7") is None
    assert await first.take_checkout("203.0.113.7") is None
    assert await second.take_checkout("203.0.113.7") is not None
    assert await first.take_checkout("198.51.100.1") is None
    await first.count_auth_failure("203.0.113.7")
    assert await second.auth_refused("203.0.113.7") is None
    await second.count_auth_failure("203.0.113.7")
    assert await first.auth_refused("203.0.113.7") is not None


async def test_the_limits_in_memory_belong_to_one_process() -> None:
    first, second = (
        RateLimits(checkouts_per_minute=1, auth_failures_per_minute=1) for _ in range(2)
    )
    assert await first.take_checkout("203.0.113.7") is None
    assert await first.take_checkout("203.0.113.7") is not None
    assert await second.take_checkout("203.0.113.7") is None


@pytest.mark.parametrize("limit", [0])
async def test_a_limit_of_zero_is_off(limit: int) -> None:
    limits = RateLimits(checkouts_per_minute=limit, auth_failures_per_minute=limit)
    for _ in range(50):
        assert await limits.take_checkout("203.0.113.7") is None
        await limits.count_auth_failure("203.0.113.7")
    assert await limits.auth_refused("203.0.113.7") is None


# --- tenant key rotation -----------------------------------------------------------------


async def test_a_rotated_tenant_key_keeps_the_old_one_for_its_grace_then_ends_it(
    tmp_path: Path,
) -> None:
    app, container = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        shop = await new_shop(client)
        tenant_id = (await client.get("/v1/tenant", headers=shop.tenant)).json()["id"]
        rotate = f"/v1/admin/tenants/{tenant_id}/api-keys"

        rotated = await client.post(
            rotate, json={"revoke_others_after_seconds": 3600}, headers=admin
        )
        assert rotated.status_code == 201, rotated.text
        new = {"Authorization": f"Bearer {rotated.json()['api_key']}"}
        assert rotated.json()["others_revoked"] == 1
        # Within the grace period both keys work.
        assert (await client.get("/v1/tenant", headers=shop.tenant)).status_code == 200
        assert (await client.get("/v1/tenant", headers=new)).status_code == 200

        # A leaked key: revoke every other key now.
        now = await client.post(rotate, json={"revoke_others_after_seconds": 0}, headers=admin)
        assert now.status_code == 201, now.text
        newest = {"Authorization": f"Bearer {now.json()['api_key']}"}
        expect_problem(await client.get("/v1/tenant", headers=shop.tenant), 401)
        expect_problem(await client.get("/v1/tenant", headers=new), 401)
        assert (await client.get("/v1/tenant", headers=newest)).status_code == 200

        default = await client.post(rotate, headers=admin)
        assert default.status_code == 201, default.text
        expect_problem(
            await client.post(rotate, json={"revoke_others_after_seconds": -1}, headers=admin), 400
        )
        expect_problem(await client.post("/v1/admin/tenants/tn_nope/api-keys", headers=admin), 404)
        expect_problem(await client.post(rotate, headers=shop.tenant), 401)
    assert container is not None
