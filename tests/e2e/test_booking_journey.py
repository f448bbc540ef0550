"""A customer books and pays end to end, against the real server and the fake Stripe pages.

admin creates a tenant → the tenant onboards through the fake pages → offering and slots →
a customer checks out → pays on the fake page → the signed webhook confirms the booking →
duplicate deliveries change nothing → the tenant cancels → refund → the statement balances.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import Server


def _wait_for(check: Any, timeout: float = 10.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _create_tenant(server: Server, slug: str) -> str:
    with server.client(server.admin_key) as admin:
        response = admin.post(
            "/v1/admin/tenants",
            json={
                "name": "Sunrise Yoga",
                "slug": slug,
                "country": "US",
                "default_currency": "usd",
                "timezone": "America/New_York",
                "fee_policy": {
                    "percent_bps": 500,
                    "fixed": {"amount": 30, "currency": "usd"},
                    "bearer": "customer",
                    "refund_on_cancel": "proportional",
                },
            },
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tenant"]["can_sell"] is False
    assert body["tenant"]["fee_policy"]["version"] == 1
    return str(body["api_key"])


def _onboard(server: Server, tenant: httpx.Client) -> None:
    link = tenant.post("/v1/tenant/connect/onboarding-link")
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    page = httpx.get(url)
    assert page.status_code == 200
    assert "Complete onboarding" in page.text
    done = httpx.post(url, follow_redirects=False)
    assert done.status_code == 303
    status = _wait_for(lambda: tenant.get("/v1/tenant/connect/status").json()["charges_enabled"])
    assert status is True


def test_a_customer_books_and_pays_and_the_tenant_refunds(server: Server) -> None:
    api_key = _create_tenant(server, "sunrise-yoga")
    with server.client(api_key) as tenant, server.client() as public:
        # Before onboarding the tenant cannot sell.
        _onboard(server, tenant)

        offering = tenant.post(
            "/v1/tenant/offerings",
            json={
                "name": "Morning flow",
                "price": {"amount": 2000, "currency": "usd"},
                "duration_minutes": 60,
                "capacity": 3,
            },
        )
        assert offering.status_code == 201, offering.text
        offering_id = offering.json()["id"]
        starts_at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        slots = tenant.post(
            f"/v1/tenant/offerings/{offering_id}/slots",
            json={"starts_at": starts_at.isoformat()},
        )
        assert slots.status_code == 201, slots.text
        slot_id = slots.json()["data"][0]["id"]

        quote = tenant.get("/v1/tenant/fee-quote", params={"offering_id": offering_id, "seats": 2})
        assert quote.json()["customer_total"] == {"amount": 4230, "currency": "usd"}

        checkout_body = {
            "slot_id": slot_id,
            "seats": 2,
            "customer": {"email": "ada@example.com", "name": "Ada"},
        }
        checkout = public.post(
            "/v1/public/sunrise-yoga/checkout",
            json=checkout_body,
            headers={"Idempotency-Key": "order-1-6f1c0b8e-2a4d-4c1b-9e3a"},
        )
        assert checkout.status_code == 201, checkout.text
        started = checkout.json()
        # The customer's side only: what they pay, never what the platform keeps.
        assert started["quote"] == {
            "subtotal": {"amount": 4000, "currency": "usd"},
            "service_fee": {"amount": 230, "currency": "usd"},
            "customer_total": {"amount": 4230, "currency": "usd"},
        }
        replay = public.post(
            "/v1/public/sunrise-yoga/checkout",
            json=checkout_body,
            headers={"Idempotency-Key": "order-1-6f1c0b8e-2a4d-4c1b-9e3a"},
        )
        assert replay.status_code == 201
        assert replay.json()["booking_id"] == started["booking_id"]
        other_body = public.post(
            "/v1/public/sunrise-yoga/checkout",
            json={**checkout_body, "seats": 1},
            headers={"Idempotency-Key": "order-1-6f1c0b8e-2a4d-4c1b-9e3a"},
        )
        assert other_body.status_code == 409
        assert other_body.headers["content-type"].startswith("application/problem+json")

        availability = public.get(f"/v1/public/sunrise-yoga/offerings/{offering_id}/slots")
        assert availability.json()["data"][0]["seats_available"] == 1
        too_many = public.post(
            "/v1/public/sunrise-yoga/checkout", json={**checkout_body, "seats": 2}
        )
        assert too_many.status_code == 409

        page = httpx.get(started["checkout_url"])
        assert page.status_code == 200
        assert "42.30 USD" in page.text
        paid = httpx.post(
            started["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
        )
        assert paid.status_code == 303

        booking_id = started["booking_id"]
        token = started["booking_token"]
        status = public.get(f"/v1/public/bookings/{booking_id}", params={"token": token})
        assert status.json()["status"] == "confirmed"
        assert (
            public.get(
                f"/v1/public/bookings/{booking_id}", params={"token": "not-the-token"}
            ).status_code
            == 404
        )

        detail = tenant.get(f"/v1/tenant/bookings/{booking_id}").json()
        assert sorted(e["kind"] for e in detail["ledger"]) == ["application_fee", "charge"]

        # Stripe delivers again: the same event, a fresh signature. Nothing changes.
        events = public.get("/fake-stripe/events").json()["data"]
        completed = next(e for e in events if e["type"] == "checkout.session.completed")
        for _ in range(2):
            resent = public.post(f"/fake-stripe/events/{completed['id']}/resend")
            assert resent.status_code == 200
        assert tenant.get(f"/v1/tenant/bookings/{booking_id}").json()["ledger"] == detail["ledger"]

        cancelled = tenant.post(f"/v1/tenant/bookings/{booking_id}/cancel", json={})
        assert cancelled.status_code == 200, cancelled.text
        booking = cancelled.json()
        assert booking["status"] == "cancelled"
        assert booking["refunded"] == {"amount": 4230, "currency": "usd"}
        kinds = sorted(e["kind"] for e in booking["ledger"])
        assert kinds == ["application_fee", "application_fee_refund", "charge", "refund"]

        statement = tenant.get("/v1/tenant/statement").json()["data"]
        (usd,) = statement
        assert usd["gross"]["amount"] == 4230
        assert usd["refunds"]["amount"] == 4230
        assert usd["fees"]["amount"] == 230
        assert usd["fee_refunds"]["amount"] == 230
        assert usd["net"]["amount"] == (
            usd["gross"]["amount"]
            - usd["refunds"]["amount"]
            - usd["fees"]["amount"]
            + usd["fee_refunds"]["amount"]
            - usd["disputes"]["amount"]
        )
        assert usd["net"]["amount"] == 0
        csv = tenant.get("/v1/tenant/statement", headers={"Accept": "text/csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[0].endswith(",fee_refunds,disputes,net")
        assert csv.text.splitlines()[1] == "USD,1,42.30,42.30,2.30,2.30,0.00,0.00"  # major units

        availability = public.get(f"/v1/public/sunrise-yoga/offerings/{offering_id}/slots")
        assert availability.json()["data"][0]["seats_available"] == 3

    with server.client(server.admin_key) as admin:
        report = admin.get("/v1/admin/reports/fees").json()["data"]
        assert [
            (r["tenant_slug"], r["fees"]["amount"], r["net_fees"]["amount"]) for r in report
        ] == [("sunrise-yoga", 230, 0)]


def test_another_tenants_ids_answer_404(server: Server) -> None:
    first = _create_tenant(server, "first-studio")
    second = _create_tenant(server, "second-studio")
    with server.client(first) as tenant_one, server.client(second) as tenant_two:
        offering = tenant_one.post(
            "/v1/tenant/offerings",
            json={
                "name": "Private class",
                "price": {"amount": 5000, "currency": "usd"},
                "duration_minutes": 60,
                "capacity": 1,
            },
        ).json()
        stolen = tenant_two.get(f"/v1/tenant/offerings/{offering['id']}")
        assert stolen.status_code == 404
        assert stolen.headers["content-type"].startswith("application/problem+json")
    with server.client("bp_tenant_wrong") as stranger:
        unauthorized = stranger.get("/v1/tenant")
        assert unauthorized.status_code == 401
        assert unauthorized.json()["status"] == 401
