"""A checkout paid with a delayed method (a voucher) holds its seats for days, not for one
hold's length: the seats one client address holds of a slot must count as long as they may
stay held, or the address holds the whole slot over two holds' lengths (issue 14, left)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.system.ids import RandomIds
from application.errors import TooManySeatsHeldFromClient
from application.start_checkout import StartCheckout
from domain.booking import BookingStatus
from tests.fakes.client_holds import SeatsHeldOnTheClock
from tests.unit.application.conftest import BASE, App, checkout, open_shop

HOLD = timedelta(minutes=30)
ADDRESS = "203.0.113.7"


def _counting(app: App) -> StartCheckout:
    return StartCheckout(
        app.db.unit_of_work,
        app.gateway,
        RandomIds(),
        app.clock,
        hold=HOLD,
        public_base_url=BASE,
        seats_per_client=SeatsHeldOnTheClock(app.clock),
    )


async def test_seats_waiting_for_a_voucher_still_count_against_the_address(app: App) -> None:
    start = _counting(app)
    shop = await open_shop(app, capacity=10)  # one booking, and one address, takes 5
    first = await start(replace(checkout(shop, seats=5), client=ADDRESS))
    booking = await app.booking(first.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id, "delayed")  # a voucher, paid in days

    app.clock.advance(HOLD + timedelta(minutes=1))  # the first hold's length is over
    await app.sweep()
    assert (await app.booking(first.booking_id)).status is BookingStatus.AWAITING_ASYNC_PAYMENT

    second = replace(checkout(shop, seats=5), client=ADDRESS, customer_email="bo@example.com")
    with pytest.raises(TooManySeatsHeldFromClient) as refused:
        await start(second)

    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 5
    # Until the voucher's seats may have left: its deadline, days away.
    assert refused.value.retry_after > timedelta(days=3).total_seconds()
    # Another address still has a share of its own.
    other = await start(replace(second, client="198.51.100.9"))
    assert other.booking_id != first.booking_id
