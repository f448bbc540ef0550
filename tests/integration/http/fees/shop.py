"""A shop whose fees the platform governs (issue 13 over HTTP): its tenant, offerings and
the admin's policies, and how the tests read a refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


PROBLEM = "application/problem+json"


STARTS = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


def usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "usd"}


class Shop:
    """A tenant's side of the API, and the customer's view of its shop."""

    def __init__(self, client: AppClient, slug: str, key: str, tenant_id: str) -> None:
        self.client = client
        self.slug = slug
        self.id = tenant_id
        self.auth = {"Authorization": f"Bearer {key}"}

    async def offering(self, price: dict[str, Any], capacity: int = 5, **more: Any) -> Any:
        body = {"name": "Class", "price": price, "duration_minutes": 60, "capacity": capacity}
        return await self.client.post("/v1/tenant/offerings", json=body | more, headers=self.auth)

    async def new_offering(self, price: dict[str, Any], capacity: int = 5, **more: Any) -> str:
        """`more`: e.g. `max_seats_per_booking` (without it, half a slot per booking)."""
        response = await self.offering(price, capacity, **more)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def slots(self, offering_id: str, *starts: datetime) -> Any:
        body = {"slots": [{"starts_at": start.isoformat()} for start in starts]}
        return await self.client.post(
            f"/v1/tenant/offerings/{offering_id}/slots", json=body, headers=self.auth
        )

    async def new_slot(self, offering_id: str, start: datetime = STARTS) -> str:
        response = await self.slots(offering_id, start)
        assert response.status_code == 201, response.text
        return str(response.json()["data"][0]["id"])

    async def patch(self, offering_id: str, changes: dict[str, Any]) -> Any:
        return await self.client.patch(
            f"/v1/tenant/offerings/{offering_id}", json=changes, headers=self.auth
        )

    async def quote(self, offering_id: str, seats: int = 1) -> Any:
        return await self.client.get(
            "/v1/tenant/fee-quote",
            params={"offering_id": offering_id, "seats": seats},
            headers=self.auth,
        )

    async def checkout(self, slot_id: str, seats: int, key: str | None = None) -> Any:
        return await self.client.post(
            f"/v1/public/{self.slug}/checkout",
            json={"slot_id": slot_id, "seats": seats, "customer": {"email": "ada@example.com"}},
            headers={"Idempotency-Key": key} if key else {},
        )

    async def seats_available(self, offering_id: str, slot_id: str) -> int:
        response = await self.client.get(f"/v1/public/{self.slug}/offerings/{offering_id}/slots")
        assert response.status_code == 200, response.text
        (slot,) = [s for s in response.json()["data"] if s["id"] == slot_id]
        return int(slot["seats_available"])

    async def set_policy(self, policy: dict[str, Any]) -> Any:
        return await self.client.put(
            f"/v1/admin/tenants/{self.id}/fee-policy", json=policy, headers=ADMIN
        )

    async def set_override(self, offering_id: str, policy: dict[str, Any]) -> Any:
        return await self.client.put(
            f"/v1/admin/tenants/{self.id}/offerings/{offering_id}/fee-policy",
            json=policy,
            headers=ADMIN,
        )

    async def end_override(self, offering_id: str) -> Any:
        return await self.client.delete(
            f"/v1/admin/tenants/{self.id}/offerings/{offering_id}/fee-policy", headers=ADMIN
        )


async def open_shop(client: AppClient, policy: dict[str, Any] | None = None, **tenant: Any) -> Shop:
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    body = {
        "name": "Studio",
        "slug": slug,
        "country": "US",
        "default_currency": "usd",
        "timezone": "America/New_York",
        "fee_policy": policy or {"percent_bps": 500, "fixed": usd(30)},
    }
    created = await client.post("/v1/admin/tenants", json=body | tenant, headers=ADMIN)
    assert created.status_code == 201, created.text
    shop = Shop(client, slug, created.json()["api_key"], created.json()["tenant"]["id"])
    link = await client.post("/v1/tenant/connect/onboarding-link", headers=shop.auth)
    assert (await client.post(link.json()["url"], follow_redirects=False)).status_code == 303
    return shop


def problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "Traceback" not in response.text
    return str(response.json()["detail"])
