"""A tenant that can sell, on a manual clock, for the review tests of issues 13 and 15:
one offering of 20.00 USD a seat (5 % + 0.30 USD borne by the customer) and slots made on
demand, driven over HTTP in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dependency_injector import providers

from entrypoints.container import Container
from tests.fakes.clock import ManualClock
from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app
from tests.support.scopes import on_platform

T = TypeVar("T")

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
USD_POLICY = {"percent_bps": 500, "fixed": {"amount": 30, "currency": "usd"}}


def whole_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass
class ReviewShop:
    client: AppClient
    container: Container
    clock: ManualClock
    slug: str = ""
    auth: dict[str, str] | None = None
    offering_id: str = ""

    @property
    def tenant(self) -> dict[str, str]:
        assert self.auth is not None
        return self.auth

    async def in_app(self, job: Callable[[], Awaitable[T]]) -> T:
        """Run `job` as the server runs its jobs: declaring the platform's row scope."""
        return await on_platform(job)()

    async def open(self, **offering: Any) -> None:
        self.slug = f"studio-{uuid.uuid4().hex[:8]}"
        created = await self.client.post(
            "/v1/admin/tenants",
            json={
                "name": "Studio",
                "slug": self.slug,
                "country": "US",
                "default_currency": "usd",
                "timezone": "UTC",
                "fee_policy": USD_POLICY,
            },
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text
        self.auth = {"Authorization": f"Bearer {created.json()['api_key']}"}
        link = await self.client.post("/v1/tenant/connect/onboarding-link", headers=self.tenant)
        done = await self.client.post(link.json()["url"], follow_redirects=False)
        assert done.status_code == 303, done.text
        body: dict[str, Any] = {
            "name": "Class",
            "price": {"amount": 2000, "currency": "usd"},
            "duration_minutes": 60,
            "capacity": 4,
            **offering,
        }
        answer = await self.client.post("/v1/tenant/offerings", json=body, headers=self.tenant)
        assert answer.status_code == 201, answer.text
        self.offering_id = answer.json()["id"]

    async def add_slot(self, starts_in: timedelta) -> str:
        starts_at = whole_minute(self.clock.now() + starts_in)
        slots = await self.client.post(
            f"/v1/tenant/offerings/{self.offering_id}/slots",
            json={"starts_at": starts_at.isoformat()},
            headers=self.tenant,
        )
        assert slots.status_code == 201, slots.text
        return str(slots.json()["data"][0]["id"])

    async def slot(self, slot_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/v1/public/{self.slug}/offerings/{self.offering_id}/slots")
        (slot,) = [s for s in answer.json()["data"] if s["id"] == slot_id]
        return dict(slot)

    async def checkout(self, slot_id: str, seats: int = 2) -> Any:
        return await self.client.post(
            f"/v1/public/{self.slug}/checkout",
            json={"slot_id": slot_id, "seats": seats, "customer": {"email": "a@b.example"}},
        )

    async def booking(self, booking_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/v1/tenant/bookings/{booking_id}", headers=self.tenant)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def seats_taken(self, slot_id: str) -> int:
        """Held and booked seats of the slot, read from the database (a started slot is no
        longer listed publicly)."""
        profile = await self.client.get("/v1/tenant", headers=self.tenant)
        tenant_id = profile.json()["id"]

        async def read() -> int:
            async with self.container.uow()() as uow:
                slot = await uow.slots.get(tenant_id, slot_id)
            assert slot is not None
            return slot.seats_taken

        return await self.in_app(read)

    async def seats_available(self, slot_id: str) -> int:
        answer = await self.client.get(f"/v1/public/{self.slug}/offerings/{self.offering_id}/slots")
        (slot,) = [s for s in answer.json()["data"] if s["id"] == slot_id]
        return int(slot["seats_available"])


async def review_shop(tmp_path: Path, database_url: str | None) -> AsyncIterator[ReviewShop]:
    """The shop on a fresh database, its clock at the current minute."""
    app, container = build_test_app(tmp_path, database_url)
    clock = ManualClock(whole_minute(datetime.now(UTC)))
    container.clock.override(providers.Object(clock))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield ReviewShop(client, container, clock)
