"""What the hard-edge tests (issue 14, test_hard_edges.py) and the reviews after them share:
an in-process app's client with its container, a tenant that can sell one slot, a checkout
body for it, and the check that an answer is a problem document of Bookpay's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from adapters.sql import orm
from entrypoints.container import Container
from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY
from tests.support.http_flows import OpenShop, open_shop

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


# The hard edges' shop: the shared journey's, with no fee policy of its own.
Shop = OpenShop


async def new_shop(client: AppClient, capacity: int = 5) -> Shop:
    """A tenant onboarded with the fake gateway, selling one offering of 20.00 USD a seat
    with one slot of `capacity` seats three days ahead (no fee policy of its own)."""
    return await open_shop(client, capacity=capacity, fee_fixed=None)


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
