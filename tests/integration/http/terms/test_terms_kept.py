"""Issue 13, over HTTP on SQLite and PostgreSQL: bookings keep the terms they were sold
under, and holds end when the customer or the tenant gives up."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.fakes.clock import ManualClock
from tests.integration.http.terms.shop import (
    FULL_UP_TO_48_HOURS,
    NOTHING_BACK,
    Shop,
)
from tests.support.http_app import BASE_URL

pytestmark = pytest.mark.holds


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
    await shop.in_app(shop.container.expire_lapsed_holds())
    assert (await shop.booking(checkout))["status"] == "awaiting_async_payment"
    assert await shop.seats_available() == 2

    clock.set(deadline + timedelta(minutes=1))
    swept = await shop.in_app(shop.container.expire_lapsed_holds())

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
    await shop.open(max_seats_per_booking=None)
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
