"""Issue 13's review findings, over HTTP on SQLite and PostgreSQL: no payment for a slot
that already started, fee policies that price the tenant's currency, quotes that refuse
what checkout refuses, prices Stripe can charge, whole-minute starts, and what a slot's
cancellation leaves unfinished."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.review_shop import ADMIN, ENGINES, ReviewShop, review_shop

pytestmark = pytest.mark.holds


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def shop(database_url: str | None, tmp_path: Path) -> AsyncIterator[ReviewShop]:
    async for opened in review_shop(tmp_path, database_url):
        yield opened


# --- D1: a hold cannot be paid after the slot started -----------------------------------


async def test_a_slot_starting_sooner_than_the_shortest_checkout_cannot_be_checked_out(
    shop: ReviewShop,
) -> None:
    await shop.open()
    slot_id = await shop.add_slot(timedelta(minutes=15))

    refused = await shop.checkout(slot_id)

    assert refused.status_code == 409, refused.text
    assert "too soon to book online" in refused.json()["detail"]
    assert await shop.seats_available(slot_id) == 4


async def test_a_checkout_never_outlasts_the_start_of_its_slot(shop: ReviewShop) -> None:
    await shop.open()
    slot_id = await shop.add_slot(timedelta(minutes=32))

    answer = await shop.checkout(slot_id)

    assert answer.status_code == 201, answer.text
    booking = await shop.booking(answer.json()["booking_id"])
    assert booking["hold_expires_at"] <= booking["starts_at"]


async def test_a_payment_completing_after_the_start_is_cancelled_and_refunded_in_full(
    shop: ReviewShop,
) -> None:
    await shop.open()
    slot_id = await shop.add_slot(timedelta(hours=2))
    started = (await shop.checkout(slot_id)).json()
    delayed = await shop.client.post(
        started["checkout_url"] + "/pay", data={"method": "delayed"}, follow_redirects=False
    )
    assert delayed.status_code == 303, delayed.text
    waiting = await shop.booking(started["booking_id"])
    assert waiting["hold_expires_at"] == waiting["starts_at"]

    # The voucher is paid after the class began, before any sweep ended the hold.
    shop.clock.advance(timedelta(hours=2, minutes=5))
    paid = await shop.client.post(
        started["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text

    booking = await shop.booking(started["booking_id"])
    assert booking["status"] == "cancelled"
    assert booking["payment_status"] == "refunded"
    assert booking["refunded"] == booking["quote"]["customer_total"]
    assert await shop.seats_taken(slot_id) == 0


# --- D2: a tenant's fee policy prices its default currency --------------------------------


async def test_a_tenant_whose_fee_policy_cannot_price_its_own_currency_is_refused(
    shop: ReviewShop,
) -> None:
    eur_only = {"percent_bps": 500, "fixed": {"amount": 30, "currency": "eur"}}
    created = await shop.client.post(
        "/v1/admin/tenants",
        json={
            "name": "Studio",
            "slug": "usd-studio-eur-fee",
            "country": "US",
            "default_currency": "usd",
            "timezone": "UTC",
            "fee_policy": eur_only,
        },
        headers=ADMIN,
    )

    assert created.status_code == 422, created.text
    assert "usd" in created.json()["detail"]
    listed = await shop.client.get("/v1/admin/tenants", headers=ADMIN)
    assert all(t["slug"] != "usd-studio-eur-fee" for t in listed.json()["data"])


# --- D3: a quote refuses what checkout refuses ------------------------------------------


@pytest.mark.parametrize("seats", [3, 5, 1000])
async def test_quotes_refuse_more_seats_than_one_checkout_may_take(
    shop: ReviewShop, seats: int
) -> None:
    await shop.open(max_seats_per_booking=2)
    slot_id = await shop.add_slot(timedelta(days=2))
    query: dict[str, str | int] = {"offering_id": shop.offering_id, "seats": seats}

    public = await shop.client.get(f"/v1/public/{shop.slug}/fee-quote", params=query)
    tenant = await shop.client.get("/v1/tenant/fee-quote", params=query, headers=shop.tenant)
    checkout = await shop.checkout(slot_id, seats=seats)

    assert (public.status_code, tenant.status_code, checkout.status_code) == (422, 422, 422)


async def test_a_quote_never_exceeds_what_one_booking_may_take_by_default(
    shop: ReviewShop,
) -> None:
    await shop.open(capacity=40)  # no max of its own: the platform's default, 10
    query: dict[str, str | int] = {"offering_id": shop.offering_id, "seats": 11}

    refused = await shop.client.get(f"/v1/public/{shop.slug}/fee-quote", params=query)
    fits = await shop.client.get(f"/v1/public/{shop.slug}/fee-quote", params={**query, "seats": 10})

    assert refused.status_code == 422, refused.text
    assert fits.status_code == 200, fits.text


# --- D4 and D7: offerings Stripe can sell -------------------------------------------------


async def test_a_price_below_stripes_minimum_charge_is_refused_naming_the_price(
    shop: ReviewShop,
) -> None:
    await shop.open()
    cheap = {
        "name": "Tiny",
        "price": {"amount": 10, "currency": "usd"},
        "duration_minutes": 30,
        "capacity": 4,
    }

    created = await shop.client.post("/v1/tenant/offerings", json=cheap, headers=shop.tenant)
    patched = await shop.client.patch(
        f"/v1/tenant/offerings/{shop.offering_id}",
        json={"price": {"amount": 10, "currency": "usd"}},
        headers=shop.tenant,
    )

    assert created.status_code == 422, created.text
    assert created.json()["detail"].startswith("price:")
    assert patched.status_code == 422, patched.text
    assert patched.json()["detail"].startswith("price:")


async def test_an_offering_the_policy_cannot_price_is_refused_without_naming_an_unstored_id(
    shop: ReviewShop,
) -> None:
    await shop.open()
    gbp = {
        "name": "London",
        "price": {"amount": 2000, "currency": "gbp"},
        "duration_minutes": 30,
        "capacity": 4,
    }

    created = await shop.client.post("/v1/tenant/offerings", json=gbp, headers=shop.tenant)

    assert created.status_code == 422, created.text
    assert "the offering was not created" in created.json()["detail"]
    assert "of_" not in created.json()["detail"]


# --- D6: a slot's cancellation says what it left unfinished ------------------------------


async def test_cancelling_a_slot_names_the_bookings_ended_and_those_left_unfinished(
    shop: ReviewShop,
) -> None:
    await shop.open()
    slot_id = await shop.add_slot(timedelta(days=2))
    unpaid = (await shop.checkout(slot_id, seats=1)).json()
    disputed = (await shop.checkout(slot_id, seats=1)).json()
    paid = await shop.client.post(
        disputed["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    payment_intent = (await shop.booking(disputed["booking_id"]))["payment_intent"]
    opened = await shop.client.post(f"/fake-stripe/payments/{payment_intent}/dispute", json={})
    assert opened.status_code in (200, 201), opened.text

    cancelled = await shop.client.post(f"/v1/tenant/slots/{slot_id}/cancel", headers=shop.tenant)

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["bookings_ended"] == [unpaid["booking_id"]]
    assert body["bookings_unfinished"] == [disputed["booking_id"]]


# --- D7: a started slot is history; a cancelled slot frees its start ---------------------


async def test_a_started_slot_can_be_neither_resized_nor_cancelled(shop: ReviewShop) -> None:
    await shop.open()
    slot_id = await shop.add_slot(timedelta(hours=1))
    shop.clock.advance(timedelta(hours=1, minutes=1))

    resized = await shop.client.patch(
        f"/v1/tenant/slots/{slot_id}", json={"capacity": 8}, headers=shop.tenant
    )
    cancelled = await shop.client.post(f"/v1/tenant/slots/{slot_id}/cancel", headers=shop.tenant)

    assert resized.status_code == 409, resized.text
    assert cancelled.status_code == 409, cancelled.text
    assert "already started" in cancelled.json()["detail"]


async def test_a_cancelled_slot_frees_its_start_for_a_new_slot(shop: ReviewShop) -> None:
    await shop.open()
    slot_id = await shop.add_slot(timedelta(days=2))
    taken = await shop.client.post(
        f"/v1/tenant/offerings/{shop.offering_id}/slots",
        json={"starts_at": (await shop.slot(slot_id))["starts_at"]},
        headers=shop.tenant,
    )
    assert taken.status_code == 409, taken.text
    cancelled = await shop.client.post(f"/v1/tenant/slots/{slot_id}/cancel", headers=shop.tenant)
    assert cancelled.status_code == 200, cancelled.text

    again = await shop.client.post(
        f"/v1/tenant/offerings/{shop.offering_id}/slots",
        json={"starts_at": cancelled.json()["starts_at"]},
        headers=shop.tenant,
    )

    assert again.status_code == 201, again.text
    assert again.json()["data"][0]["id"] != slot_id


async def test_problem_titles_and_refusals_speak_the_products_words(shop: ReviewShop) -> None:
    await shop.open()

    fee = await shop.client.patch(
        f"/v1/tenant/offerings/{shop.offering_id}",
        json={"fee_policy": {"percent_bps": 0}},
        headers=shop.tenant,
    )

    assert fee.status_code == 403, fee.text
    assert fee.json()["title"] == "Fee policy is the platform's"
