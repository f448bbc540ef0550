"""Journeys through the HTTP API that several tests start from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY


async def paid_booking(client: AppClient) -> tuple[dict[str, str], str]:
    """A tenant (5 % + 0.30 USD borne by the customer) and a paid booking of 42.30 USD."""
    tenant, booking_id, _ = await paid_booking_with_token(client)
    return tenant, booking_id


async def paid_booking_with_token(
    client: AppClient,
) -> tuple[dict[str, str], str, str]:
    """As `paid_booking`, with the customer's booking token too."""
    tenant, checkout = await open_checkout(client)
    paid = await client.post(
        checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    booking_id = checkout["booking_id"]
    booking = await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)
    assert booking.json()["status"] == "confirmed"
    assert booking.json()["quote"]["customer_total"]["amount"] == 4230
    return tenant, booking_id, str(checkout["booking_token"])


@dataclass(frozen=True)
class OpenShop:
    """An onboarded tenant (5 % + 0.30 USD borne by the customer) with one slot for sale:
    a class of 20.00 USD for 5 people, three days ahead."""

    slug: str
    tenant: dict[str, str]
    slot_id: str
    offering_id: str


async def open_shop(
    client: AppClient,
    *,
    country: str = "US",
    currency: str = "usd",
    timezone: str = "UTC",
    fee_fixed: int | None = 30,
    capacity: int = 5,
) -> OpenShop:
    """An onboarded tenant selling a class of 2000 minor units of `currency` (20.00 USD
    by default) for `capacity` people, three days ahead; its fee is 5 % + `fee_fixed` minor
    units, borne by the customer (`fee_fixed` None: no fee policy of its own, the
    platform's default)."""
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    tenant_body: dict[str, Any] = {
        "name": "Studio",
        "slug": slug,
        "country": country,
        "default_currency": currency,
        "timezone": timezone,
    }
    if fee_fixed is not None:
        tenant_body["fee_policy"] = {
            "percent_bps": 500,
            "fixed": {"amount": fee_fixed, "currency": currency},
        }
    created = await client.post(
        "/v1/admin/tenants", json=tenant_body, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert created.status_code == 201, created.text
    tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
    link = await client.post("/v1/tenant/connect/onboarding-link", headers=tenant)
    assert (await client.post(link.json()["url"], follow_redirects=False)).status_code == 303
    offering = await client.post(
        "/v1/tenant/offerings",
        json={
            "name": "Class",
            "price": {"amount": 2000, "currency": currency},
            "duration_minutes": 60,
            "capacity": capacity,
        },
        headers=tenant,
    )
    assert offering.status_code == 201, offering.text
    starts_at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    slots = await client.post(
        f"/v1/tenant/offerings/{offering.json()['id']}/slots",
        json={"starts_at": starts_at.isoformat()},
        headers=tenant,
    )
    assert slots.status_code == 201, slots.text
    return OpenShop(slug, tenant, slots.json()["data"][0]["id"], offering.json()["id"])


async def open_checkout(client: AppClient) -> tuple[dict[str, str], dict[str, Any]]:
    """A tenant (5 % + 0.30 USD borne by the customer) and a checkout of 42.30 USD not yet
    paid: the tenant's headers and the checkout's answer."""
    shop = await open_shop(client)
    slug, tenant = shop.slug, shop.tenant
    checkout = await client.post(
        f"/v1/public/{slug}/checkout",
        json={
            "slot_id": shop.slot_id,
            "seats": 2,
            "customer": {"email": "ada@example.com"},
        },
    )
    assert checkout.status_code == 201, checkout.text
    answer: dict[str, Any] = checkout.json()
    return tenant, answer
