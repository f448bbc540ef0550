"""Issue 13, over HTTP on SQLite and PostgreSQL: bookings keep the terms they were sold
under, holds end when the customer or the tenant gives up, and tenants resize and cancel
slots."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from application.ports.gateway import WebhookEndpoint
from entrypoints.container import Container
from tests.fakes.clock import ManualClock
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app

pytestmark = pytest.mark.holds

T = TypeVar("T")

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("fresh_postgres_url", id="postgres", marks=pytest.mark.postgres),
]

FULL_UP_TO_48_HOURS = {"windows": [{"hours_before": 48, "refund_percent": 100}]}
NOTHING_BACK = {"windows": [{"hours_before": 48, "refund_percent": 0}]}


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@dataclass
class Shop:
    """A tenant that can sell (5 % + 0.30 USD borne by the customer), one offering of
    20.00 USD a seat and one slot of 4 seats a week from now."""

    client: AsyncTestClient[Any]
    container: Container
    slug: str = ""
    tenant: dict[str, str] | None = None
    offering_id: str = ""
    slot_id: str = ""
    webhooks: dict[str, bool] = field(default_factory=dict)

    def in_app(self, job: Callable[[], Awaitable[T]]) -> T:
        """Run `job` on the app's own event loop (its database pool lives there)."""
        portal = self.client.blocking_portal  # type: ignore[attr-defined]
        return portal.call(job)  # type: ignore[no-any-return]

    @property
    def auth(self) -> dict[str, str]:
        assert self.tenant is not None
        return self.tenant

    async def open(self, cancellation_policy: dict[str, Any] | None = None) -> None:
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


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
async def shop(database_url: str | None, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Shop]:
    app, container = build_test_app(tmp_path, database_url)
    container.clock.override(providers.Object(clock))
    deliver = container.webhook_delivery()
    webhooks = {"arriving": True}

    async def maybe_deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        if not webhooks["arriving"]:
            return 503
        return int(await deliver(endpoint, body, headers))

    container.webhook_delivery.override(providers.Object(maybe_deliver))
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        yield Shop(client, container, webhooks=webhooks)


# --- What was seen 3: a stricter policy after the sale ----------------------------------


async def test_a_policy_made_stricter_after_the_sale_leaves_bookings_sold_their_terms(
    shop: Shop,
) -> None:
    await shop.open(FULL_UP_TO_48_HOURS)
    sold_before = await shop.checkout()
    await shop.pay(sold_before)

    changed = await shop.client.patch(
        f"/v1/tenant/offerings/{shop.offering_id}",
        json={"cancellation_policy": NOTHING_BACK},
        headers=shop.auth,
    )
    assert changed.status_code == 200, changed.text
    sold_after = await shop.checkout()
    await shop.pay(sold_after)

    before = await shop.customer_cancels(sold_before)
    after = await shop.customer_cancels(sold_after)

    assert before.status_code == 200, before.text
    assert before.json()["refunded"] == {"amount": 4230, "currency": "usd"}
    assert before.json()["terms"]["cancellation_policy"] == FULL_UP_TO_48_HOURS
    assert after.status_code == 200, after.text
    assert after.json()["refunded"] == {"amount": 0, "currency": "usd"}
    assert after.json()["terms"]["cancellation_policy"] == NOTHING_BACK


async def test_a_booking_shows_its_terms_and_the_tenant_sees_which_fee_policy_priced_it(
    shop: Shop,
) -> None:
    await shop.open(FULL_UP_TO_48_HOURS)
    checkout = await shop.checkout()

    public = await shop.client.get(
        f"/v1/public/bookings/{checkout['booking_id']}",
        params={"token": checkout["booking_token"]},
    )
    tenant_view = await shop.booking(checkout)

    assert public.json()["terms"] == {
        "cancellation_policy": FULL_UP_TO_48_HOURS,
        "refund_on_cancel": "proportional",
    }
    assert tenant_view["terms"]["refund_on_cancel"] == "proportional"
    assert tenant_view["terms"]["fee_policy"]["version"] == 1
    assert tenant_view["terms"]["fee_policy"]["scope"] == "tenant"


# --- What was seen 6: holds that end ----------------------------------------------------


async def test_a_customer_who_abandons_an_unpaid_booking_gives_the_seats_back_at_once(
    shop: Shop,
) -> None:
    await shop.open()
    checkout = await shop.checkout()
    assert await shop.seats_available() == 2

    abandoned = await shop.customer_cancels(checkout)

    assert abandoned.status_code == 200, abandoned.text
    assert abandoned.json()["status"] == "expired"
    assert await shop.seats_available() == 4
    # The Checkout Session was expired first: the customer can no longer pay for it.
    paid = await shop.client.post(
        checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code >= 400
    assert (await shop.booking(checkout))["status"] == "expired"
    again = await shop.customer_cancels(checkout)
    assert again.status_code == 200, again.text
    assert await shop.seats_available() == 4


async def test_a_tenant_releases_an_unpaid_booking(shop: Shop) -> None:
    await shop.open()
    checkout = await shop.checkout(3)

    released = await shop.client.post(
        f"/v1/tenant/bookings/{checkout['booking_id']}/cancel", json={}, headers=shop.auth
    )

    assert released.status_code == 200, released.text
    assert released.json()["status"] == "expired"
    assert released.json()["ledger"] == []
    assert await shop.seats_available() == 4


async def test_an_unpaid_booking_paid_meanwhile_is_not_abandoned(shop: Shop) -> None:
    await shop.open()
    checkout = await shop.checkout()
    await shop.pay(checkout)

    cancelled = await shop.customer_cancels(checkout)

    # Paid: the customer cancels under the booking's terms (no policy: a full refund).
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["refunded"] == {"amount": 4230, "currency": "usd"}


async def test_the_cancel_button_of_the_checkout_page_ends_the_hold_and_returns_to_the_platform(
    shop: Shop,
) -> None:
    await shop.open()
    response = await shop.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={
            "slot_id": shop.slot_id,
            "seats": 3,
            "customer": {"email": "a@b.example"},
            "cancel_url": "https://testserver.local/classes?left=1",
        },
    )
    assert response.status_code == 201, response.text
    checkout = response.json()

    back = await shop.client.post(checkout["checkout_url"] + "/cancel", follow_redirects=False)
    assert back.status_code == 303, back.text
    assert back.headers["location"].startswith(f"{BASE_URL}/v1/public/bookings/")
    left = await shop.client.get(back.headers["location"], follow_redirects=False)

    assert left.status_code == 303, left.text
    assert left.headers["location"] == "https://testserver.local/classes?left=1"
    assert (await shop.booking(checkout))["status"] == "expired"
    assert await shop.seats_available() == 4


async def test_leaving_checkout_without_a_platform_page_shows_the_booking_page_and_spares_a_payment(
    shop: Shop,
) -> None:
    await shop.open()
    left_unpaid = await shop.checkout()
    paid = await shop.checkout(1)
    await shop.pay(paid)

    back = await shop.client.post(left_unpaid["checkout_url"] + "/cancel", follow_redirects=False)
    page = await shop.client.get(back.headers["location"], follow_redirects=True)
    again = await shop.client.get(back.headers["location"], follow_redirects=True)
    paid_page = await shop.client.get(
        f"/v1/public/bookings/{paid['booking_id']}/checkout-left",
        params={"token": paid["booking_token"]},
        follow_redirects=True,
    )
    forged = await shop.client.get(
        f"/v1/public/bookings/{paid['booking_id']}/checkout-left",
        params={"token": "not-the-token"},
    )

    # The hosted booking page says what happened, with the token moved into a cookie.
    assert page.status_code == 200, page.text
    assert "not completed" in page.text
    assert "token=" not in str(page.url)
    assert again.status_code == 200
    assert (await shop.booking(left_unpaid))["status"] == "expired"
    assert paid_page.status_code == 200
    # A paid customer is never told that nothing was charged.
    assert "is paid" in paid_page.text
    assert "Nothing was charged" not in paid_page.text
    assert (await shop.booking(paid))["status"] == "confirmed"
    assert forged.status_code == 404
    assert await shop.seats_available() == 3


async def test_a_delayed_payment_holds_its_seats_until_its_deadline_then_gives_them_back(
    shop: Shop, clock: ManualClock
) -> None:
    await shop.open()
    checkout = await shop.checkout()
    delayed = await shop.client.post(
        checkout["checkout_url"] + "/pay", data={"method": "delayed"}, follow_redirects=False
    )
    assert delayed.status_code == 303, delayed.text
    waiting = await shop.booking(checkout)
    assert waiting["status"] == "awaiting_async_payment"
    deadline = datetime.fromisoformat(waiting["hold_expires_at"])
    assert deadline - datetime.fromisoformat(checkout["expires_at"]) == timedelta(days=4)

    clock.set(deadline - timedelta(minutes=1))
    shop.in_app(shop.container.expire_lapsed_holds())
    assert (await shop.booking(checkout))["status"] == "awaiting_async_payment"
    assert await shop.seats_available() == 2

    clock.set(deadline + timedelta(minutes=1))
    swept = shop.in_app(shop.container.expire_lapsed_holds())

    assert swept.expired == [checkout["booking_id"]]
    assert (await shop.booking(checkout))["status"] == "expired"
    assert await shop.seats_available() == 4
    # Paid after all, while the seats are still free: a late payment, confirmed.
    paid = await shop.client.post(
        checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    assert (await shop.booking(checkout))["status"] == "confirmed"
    assert await shop.seats_available() == 2


async def test_an_offering_limits_the_seats_of_one_booking(shop: Shop) -> None:
    await shop.open()
    limited = await shop.client.patch(
        f"/v1/tenant/offerings/{shop.offering_id}",
        json={"max_seats_per_booking": 2},
        headers=shop.auth,
    )
    assert limited.status_code == 200, limited.text
    assert limited.json()["max_seats_per_booking"] == 2

    refused = await shop.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 3, "customer": {"email": "a@b.example"}},
    )

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await shop.seats_available() == 4
    await shop.checkout(2)


async def test_one_anonymous_checkout_cannot_hold_every_seat_of_a_slot(shop: Shop) -> None:
    """Issue 14, What was seen 4: an offering with no cap of its own sells at most the
    platform's default (10 seats) in one booking; the tenant may raise it per offering."""
    await shop.open()
    bigger = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 30}, headers=shop.auth
    )
    assert bigger.status_code == 200, bigger.text

    every_seat = await shop.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 30, "customer": {"email": "grab@b.example"}},
    )

    assert every_seat.status_code == 422, every_seat.text
    assert every_seat.headers["content-type"].startswith("application/problem+json")
    assert "at most 10 seat(s)" in every_seat.json()["detail"]
    assert await shop.seats_available() == 30
    await shop.checkout(10)
    assert await shop.seats_available() == 20

    whole_slots = await shop.client.patch(
        f"/v1/tenant/offerings/{shop.offering_id}",
        json={"max_seats_per_booking": 30},
        headers=shop.auth,
    )
    assert whole_slots.status_code == 200, whole_slots.text
    await shop.checkout(20)
    assert await shop.seats_available() == 0


# --- Slot operations --------------------------------------------------------------------


async def test_a_slots_capacity_changes_but_never_below_the_seats_taken(shop: Shop) -> None:
    await shop.open()
    held = await shop.checkout(2)
    paid = await shop.checkout(1)
    await shop.pay(paid)

    too_small = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 2}, headers=shop.auth
    )
    just_enough = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 3}, headers=shop.auth
    )

    assert too_small.status_code == 409, too_small.text
    assert too_small.headers["content-type"].startswith("application/problem+json")
    assert just_enough.status_code == 200, just_enough.text
    assert just_enough.json()["capacity"] == 3
    assert just_enough.json()["seats_available"] == 0
    assert held["booking_id"]
    bigger = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 10}, headers=shop.auth
    )
    assert bigger.json()["seats_available"] == 7
    assert await shop.seats_available() == 7
    unknown = await shop.client.patch(
        "/v1/tenant/slots/sl_nope", json={"capacity": 3}, headers=shop.auth
    )
    assert unknown.status_code == 404
    zero = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 0}, headers=shop.auth
    )
    assert zero.status_code in (400, 422), zero.text


async def test_cancelling_a_slot_refunds_every_paid_booking_and_releases_every_hold(
    shop: Shop,
) -> None:
    await shop.open(NOTHING_BACK)  # the tenant cancels: its customers get everything back
    paid = await shop.checkout(2)
    await shop.pay(paid)
    held = await shop.checkout(1)

    cancelled = await shop.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel",
        json={"reason": "the teacher is ill"},
        headers=shop.auth,
    )

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["seats_available"] == 0
    paid_after = await shop.booking(paid)
    assert paid_after["status"] == "cancelled"
    assert paid_after["refunded"] == {"amount": 4230, "currency": "usd"}
    assert [e["amount"]["amount"] for e in paid_after["ledger"] if e["kind"] == "refund"] == [4230]
    assert (await shop.booking(held))["status"] == "expired"
    no_more = await shop.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 1, "customer": {"email": "a@b.example"}},
    )
    assert no_more.status_code == 409, no_more.text

    again = await shop.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel", json={}, headers=shop.auth
    )
    assert again.status_code == 200, again.text
    refunds = [e for e in (await shop.booking(paid))["ledger"] if e["kind"] == "refund"]
    assert len(refunds) == 1


async def test_a_checkout_paid_while_its_slot_is_cancelled_is_refunded_in_full(
    shop: Shop,
) -> None:
    await shop.open()
    checkout = await shop.checkout(2)
    shop.webhooks["arriving"] = False  # Bookpay has not heard of the payment yet
    await shop.pay(checkout)
    assert (await shop.booking(checkout))["status"] == "pending_payment"

    cancelled = await shop.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel", json={}, headers=shop.auth
    )

    assert cancelled.status_code == 200, cancelled.text
    after = await shop.booking(checkout)
    assert after["status"] == "cancelled"
    assert after["refunded"] == {"amount": 4230, "currency": "usd"}
    assert [e["amount"]["amount"] for e in after["ledger"] if e["kind"] == "refund"] == [4230]


async def test_an_interrupted_slot_cancellation_is_finished_by_reconciliation(
    shop: Shop,
) -> None:
    await shop.open()
    paid = await shop.checkout(2)
    await shop.pay(paid)
    held = await shop.checkout(1)
    # The process stops right after the slot was marked cancelled, before any booking ended.
    tenant_id = await _tenant_id(shop)

    async def crash_after_marking_the_slot() -> None:
        async with shop.container.uow()() as uow:
            slot = await uow.slots.get(tenant_id, shop.slot_id)
            assert slot is not None
            assert await uow.slots.cancel(slot.cancel(datetime.now(UTC), "flooded"))
            await uow.commit()

    shop.in_app(crash_after_marking_the_slot)
    assert (await shop.booking(paid))["status"] == "confirmed"

    report = shop.in_app(shop.container.reconcile())

    assert sorted(report.slot_bookings_ended) == sorted([paid["booking_id"], held["booking_id"]])
    after = await shop.booking(paid)
    assert after["status"] == "cancelled"
    assert after["refunded"] == {"amount": 4230, "currency": "usd"}
    assert [e["amount"]["amount"] for e in after["ledger"] if e["kind"] == "refund"] == [4230]
    assert (await shop.booking(held))["status"] == "expired"
    assert shop.in_app(shop.container.reconcile()).slot_bookings_ended == []


async def _tenant_id(shop: Shop) -> str:
    profile = await shop.client.get("/v1/tenant", headers=shop.auth)
    return str(profile.json()["id"])
