"""What the hosted pages may offer a customer, decided by the domain (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.booking_queries import BookingQueries
from application.customer_pages import CustomerPages
from application.errors import NotFound
from application.slot_queries import ListAvailability
from tests.unit.application.conftest import START, App, checkout, open_shop


def pages(app: App) -> CustomerPages:
    uow = app.db.unit_of_work
    return CustomerPages(uow, app.clock, ListAvailability(uow, app.clock), BookingQueries(uow))


async def test_a_full_slot_is_listed_but_not_on_sale(app: App) -> None:
    shop = await open_shop(app, capacity=2, max_seats_per_booking=2)
    await app.start_checkout(checkout(shop, seats=2))

    async with app.db.unit_of_work() as uow:
        slot = await uow.slots.get(shop.tenant_id, shop.slot_id)
    assert slot is not None
    found = await pages(app).offering_slots(shop.slug, slot.offering_id)

    assert [(s.slot.id, s.bookable) for s in found.slots] == [(shop.slot_id, False)]
    assert found.business.timezone == "UTC"


async def test_cancelling_offers_the_refund_of_the_terms_until_the_start(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    unpaid = await pages(app).booking(started.booking_id, started.booking_token)
    booking = await app.booking(started.booking_id)
    await app.gateway.pay(booking.gateway_session_id or "")

    paid = await pages(app).booking(started.booking_id, started.booking_token)
    app.clock.set(START + timedelta(days=3, minutes=1))
    started_already = await pages(app).booking(started.booking_id, started.booking_token)

    assert unpaid.cancel_refund is None  # nothing paid: nothing to cancel for money
    assert paid.cancel_refund is not None
    assert paid.cancel_refund.customer_refund == paid.booking.quote.customer_total
    assert paid.business.name == "Studio"
    assert paid.offering_name == "Class"
    assert started_already.cancel_refund is None


async def test_a_wrong_token_finds_nothing(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))

    with pytest.raises(NotFound):
        await pages(app).booking(started.booking_id, "not-the-token")
