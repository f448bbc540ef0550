"""A tenant ready to sell, set up over HTTP as a platform would, and the loads' plans."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.common import ADMIN_KEY, FUTURE_SLOTS, POLICY, PRICE
from bench.seed import BenchTenant
from bench.servers import Server


def set_up_tenant(server: Server, slug: str) -> BenchTenant:
    """The e2e journey's first steps: tenant, onboarding via the fake pages, offering, slots."""
    admin = httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    )
    created = admin.post(
        "/v1/admin/tenants",
        json={
            "name": "Bench Studio",
            "slug": slug,
            "country": "US",
            "default_currency": "usd",
            "timezone": "America/New_York",
            "fee_policy": {
                "percent_bps": POLICY.percent_bps,
                "fixed": {"amount": 30, "currency": "usd"},
                "bearer": "customer",
                "refund_on_cancel": "proportional",
            },
        },
    )
    created.raise_for_status()
    body = created.json()
    tenant = httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {body['api_key']}"},
        timeout=30,
    )
    link = tenant.post("/v1/tenant/connect/onboarding-link")
    link.raise_for_status()
    httpx.post(link.json()["url"], follow_redirects=False, timeout=30)
    deadline = time.monotonic() + 30
    while not tenant.get("/v1/tenant/connect/status").json()["charges_enabled"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the bench tenant never finished onboarding")
        time.sleep(0.1)
    offering = tenant.post(
        "/v1/tenant/offerings",
        json={
            "name": "Bench class",
            "price": {"amount": PRICE.amount, "currency": PRICE.currency},
            "duration_minutes": 60,
            "capacity": 100_000,
        },
    )
    offering.raise_for_status()
    offering_id = offering.json()["id"]
    first = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    slots = tenant.post(
        f"/v1/tenant/offerings/{offering_id}/slots",
        json={
            "slots": [
                {"starts_at": (first + timedelta(hours=12 * n)).isoformat()}
                for n in range(FUTURE_SLOTS)
            ]
        },
    )
    slots.raise_for_status()
    admin.close()
    tenant.close()
    return BenchTenant(
        tenant_id=body["tenant"]["id"],
        slug=slug,
        offering_id=offering_id,
        slot_ids=[slot["id"] for slot in slots.json()["data"]],
        price=PRICE,
        policy=POLICY,
        api_key=body["api_key"],
    )


def add_scarce_offering(server: Server, tenant: BenchTenant, slots: int, seats: int) -> BenchTenant:
    """Another offering of the tenant with `slots` slots of `seats` seats each: the same
    tenant, now selling that offering (the last seats, raced for by the contention load)."""
    client = httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {tenant.api_key}"},
        timeout=30,
    )
    with client:
        offering = client.post(
            "/v1/tenant/offerings",
            json={
                "name": "Bench last seats",
                "price": {"amount": PRICE.amount, "currency": PRICE.currency},
                "duration_minutes": 60,
                "capacity": seats,
            },
        )
        offering.raise_for_status()
        offering_id = offering.json()["id"]
        first = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        created = client.post(
            f"/v1/tenant/offerings/{offering_id}/slots",
            json={
                "slots": [
                    {"starts_at": (first + timedelta(hours=n)).isoformat()} for n in range(slots)
                ]
            },
        )
        created.raise_for_status()
    return replace(
        tenant,
        offering_id=offering_id,
        slot_ids=[slot["id"] for slot in created.json()["data"]],
    )


def availability_plan(server: Server, tenant: BenchTenant, label: str) -> dict[str, Any]:
    path = f"/v1/public/{tenant.slug}/offerings/{tenant.offering_id}/slots"
    return {"label": label, "kind": "get", "port": server.port, "paths": [path]}


# The caching headers of an availability answer (entrypoints/http/caching.py), by name.
CACHING_HEADERS = ("Cache-Control", "ETag")


def availability_caching(server: Server, tenant: BenchTenant) -> dict[str, str]:
    """One availability answer's status and caching headers (those it lacks are left out),
    read before the load, which sends no If-None-Match (availability_plan)."""
    path = availability_plan(server, tenant, "")["paths"][0]
    answer = httpx.get(server.base_url + path, timeout=30)
    found = {"status": str(answer.status_code)}
    found.update({name: answer.headers[name] for name in CACHING_HEADERS if name in answer.headers})
    return found


def checkout_plan(server: Server, tenant: BenchTenant, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "kind": "checkout",
        "port": server.port,
        "slug": tenant.slug,
        "slot_ids": tenant.slot_ids,
    }


def book_page_plan(server: Server, tenant: BenchTenant, label: str) -> dict[str, Any]:
    """The hosted booking page (HTML) of the tenant's shop."""
    return {"label": label, "kind": "get", "port": server.port, "paths": [f"/book/{tenant.slug}"]}


def statement_plan(
    server: Server, tenant: BenchTenant, label: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """The tenant's statement over [since, until) (JSON), with its API key."""
    window = f"from={since:%Y-%m-%dT%H:%M:%SZ}&to={until:%Y-%m-%dT%H:%M:%SZ}"
    return {
        "label": label,
        "kind": "get",
        "port": server.port,
        "paths": [f"/v1/tenant/statement?{window}"],
        "headers": {"authorization": f"Bearer {tenant.api_key}"},
    }


def webhook_plan(
    server: Server, bookings: list[dict[str, Any]], label: str, secret: str, duplicates: float
) -> dict[str, Any]:
    """One signed checkout.session.completed per booking, plus `duplicates` re-sends."""
    return {
        "label": label,
        "kind": "webhook",
        "port": server.port,
        "secret": secret,
        "bookings": bookings,
        "duplicate_share": duplicates,
    }
