"""What the hard-edge tests (issue 14, test_hard_edges.py) and the reviews after them share:
an in-process app's client with its container, a tenant that can sell one slot, a checkout
body for it, and the check that an answer is a problem document of Bookpay's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from adapters.sql import orm
from entrypoints.container import Container
from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY

PROBLEM = "application/problem+json"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class Edge:
    client: AppClient
    container: Container

    async def idempotency_rows(self) -> int:
        async with self.container.engine().connect() as connection:
            count = await connection.scalar(select(func.count()).select_from(orm.idempotency_keys))
        return int(count or 0)


@dataclass
class Shop:
    slug: str
    tenant: dict[str, str]
    slot_id: str
    offering_id: str


async def new_shop(client: AppClient, capacity: int = 5) -> Shop:
    """A tenant onboarded with the fake gateway, selling one offering of 20.00 USD a seat
    with one slot of `capacity` seats three days ahead."""
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    created = await client.post(
        "/v1/admin/tenants",
        json={
            "name": "Studio",
            "slug": slug,
            "country": "US",
            "default_currency": "usd",
            "timezone": "UTC",
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
    link = await client.post("/v1/tenant/connect/onboarding-link", headers=tenant)
    assert (await client.post(link.json()["url"], follow_redirects=False)).status_code == 303
    offering = await client.post(
        "/v1/tenant/offerings",
        json={
            "name": "Class",
            "price": {"amount": 2000, "currency": "usd"},
            "duration_minutes": 60,
            "capacity": capacity,
        },
        headers=tenant,
    )
    starts_at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    slots = await client.post(
        f"/v1/tenant/offerings/{offering.json()['id']}/slots",
        json={"starts_at": starts_at.isoformat()},
        headers=tenant,
    )
    return Shop(slug, tenant, slots.json()["data"][0]["id"], offering.json()["id"])


def checkout_body(shop: Shop, seats: int = 1, **extra: Any) -> dict[str, Any]:
    return {"slot_id": shop.slot_id, "seats": seats, "customer": {"email": "a@example.com"}} | extra


def expect_problem(response: Any, status: int) -> dict[str, Any]:
    """The problem document `response` must be, answered with `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:bookpay:problem:"), body
    return body
