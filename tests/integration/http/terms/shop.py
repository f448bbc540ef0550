"""A shop selling under terms (issue 13 over HTTP): a tenant, an offering, a slot, and what
the tests do through them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from entrypoints.container import Container
from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY
from tests.support.scopes import on_platform

T = TypeVar("T")


FULL_UP_TO_48_HOURS = {"windows": [{"hours_before": 48, "refund_percent": 100}]}


NOTHING_BACK = {"windows": [{"hours_before": 48, "refund_percent": 0}]}


@dataclass
class Shop:
    """A tenant that can sell (5 % + 0.30 USD borne by the customer), one offering of
    20.00 USD a seat and one slot of 4 seats a week from now."""

    client: AppClient
    container: Container
    slug: str = ""
    tenant: dict[str, str] | None = None
    offering_id: str = ""
    slot_id: str = ""
    webhooks: dict[str, bool] = field(default_factory=dict)

    async def in_app(self, job: Callable[[], Awaitable[T]]) -> T:
        """Run `job` declaring the platform's row scope, as the server's jobs do."""
        return await on_platform(job)()

    @property
    def auth(self) -> dict[str, str]:
        assert self.tenant is not None
        return self.tenant

    async def open(
        self,
        cancellation_policy: dict[str, Any] | None = None,
        max_seats_per_booking: int | None = 4,
    ) -> None:
        """A class of 4 seats. The tests' customers all connect from one address, which may
        otherwise hold half a slot at most: by default the class sells whole, as a business
        that sells to groups says on its offering (`max_seats_per_booking`; None: no cap of
        its own)."""
        self.slug = f"studio-{uuid.uuid4().hex[:8]}"
        created = await self.client.post(
            "/v1/admin/tenants",
            json={
                "name": "Studio",
                "slug": self.slug,
                "country": "US",
                "default_currency": "usd",
                "timezone": "UTC",
                "fee_policy": {"percent_bps": 500, "fixed": {"amount": 30, "currency": "usd"}},
            },
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert created.status_code == 201, created.text
        self.tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
        link = await self.client.post("/v1/tenant/connect/onboarding-link", headers=self.auth)
        done = await self.client.post(link.json()["url"], follow_redirects=False)
        assert done.status_code == 303, done.text
        body: dict[str, Any] = {
            "name": "Class",
            "price": {"amount": 2000, "currency": "usd"},
            "duration_minutes": 60,
            "capacity": 4,
        }
        if max_seats_per_booking is not None:
            body["max_seats_per_booking"] = max_seats_per_booking
        if cancellation_policy is not None:
            body["cancellation_policy"] = cancellation_policy
        offering = await self.client.post("/v1/tenant/offerings", json=body, headers=self.auth)
        assert offering.status_code == 201, offering.text
        self.offering_id = offering.json()["id"]
        starts_at = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
        slots = await self.client.post(
            f"/v1/tenant/offerings/{self.offering_id}/slots",
            json={"starts_at": starts_at.isoformat()},
            headers=self.auth,
        )
        assert slots.status_code == 201, slots.text
        self.slot_id = slots.json()["data"][0]["id"]

    async def checkout(self, seats: int = 2) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/public/{self.slug}/checkout",
            json={"slot_id": self.slot_id, "seats": seats, "customer": {"email": "a@b.example"}},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def pay(self, checkout: dict[str, Any]) -> None:
        paid = await self.client.post(
            checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
        )
        assert paid.status_code == 303, paid.text

    async def booking(self, checkout: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.get(
            f"/v1/tenant/bookings/{checkout['booking_id']}", headers=self.auth
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def seats_available(self) -> int:
        response = await self.client.get(
            f"/v1/public/{self.slug}/offerings/{self.offering_id}/slots"
        )
        (slot,) = [s for s in response.json()["data"] if s["id"] == self.slot_id]
        return int(slot["seats_available"])

    async def customer_cancels(self, checkout: dict[str, Any]) -> Any:
        return await self.client.post(
            f"/v1/public/bookings/{checkout['booking_id']}/cancel",
            params={"token": checkout["booking_token"]},
        )


async def tenant_id_of(shop: Shop) -> str:
    profile = await shop.client.get("/v1/tenant", headers=shop.auth)
    return str(profile.json()["id"])
