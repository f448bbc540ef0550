"""The use cases meet the domain's rules whoever calls them, not only behind the HTTP
schema: the slots one request opens, the seats one quote prices, no policy means no fee."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.add_slots import NewSlots, SlotSpec
from application.create_offering import NewOffering
from application.create_tenant import NewTenant
from application.quote_fee import QuoteFee
from domain.errors import InvalidSeatCount, InvalidSlotCount, TooManySeatsPerBooking
from domain.money import Money
from domain.offering import MAX_SEATS_PER_BOOKING, MAX_SLOTS_PER_REQUEST
from tests.unit.application.conftest import START, App


async def _offering(app: App) -> tuple[str, str]:
    created = await app.create_tenant(
        NewTenant(name="Choir", slug="choir", country="US", default_currency="usd", timezone="UTC")
    )
    offering = await app.create_offering(
        NewOffering(
            tenant_id=created.tenant.id,
            name="Rehearsal",
            price=Money(1500, "usd"),
            duration_minutes=60,
            capacity=10,
        )
    )
    return created.tenant.id, offering.id


def _starts(count: int) -> tuple[SlotSpec, ...]:
    return tuple(SlotSpec(START + timedelta(days=1, hours=hour)) for hour in range(count))


@pytest.mark.parametrize("count", [0, MAX_SLOTS_PER_REQUEST + 1])
async def test_a_request_opens_one_to_the_most_slots(app: App, count: int) -> None:
    tenant_id, offering_id = await _offering(app)
    with pytest.raises(InvalidSlotCount):
        await app.add_slots(NewSlots(tenant_id, offering_id, _starts(count)))


async def test_a_request_may_open_the_most_slots_at_once(app: App) -> None:
    tenant_id, offering_id = await _offering(app)
    opened = await app.add_slots(NewSlots(tenant_id, offering_id, _starts(MAX_SLOTS_PER_REQUEST)))
    assert len(opened) == MAX_SLOTS_PER_REQUEST


async def test_a_tenant_created_without_a_policy_charges_no_fee(app: App) -> None:
    tenant_id, offering_id = await _offering(app)
    quote = await QuoteFee(app.db.unit_of_work)(tenant_id, offering_id, 2)
    assert quote.customer_total == Money(3000, "usd")
    assert quote.application_fee == Money(0, "usd")
    assert quote.tenant_receives == quote.customer_total


async def test_a_quote_prices_at_most_a_bookings_seats(app: App) -> None:
    tenant_id, offering_id = await _offering(app)  # capacity 10
    quote_fee = QuoteFee(app.db.unit_of_work)
    # No cap of its own: half a slot of its capacity (10), below the platform's default.
    assert (await quote_fee(tenant_id, offering_id, 5)).seats == 5
    with pytest.raises(TooManySeatsPerBooking):
        await quote_fee(tenant_id, offering_id, 6)
    with pytest.raises(InvalidSeatCount):
        await quote_fee(tenant_id, offering_id, MAX_SEATS_PER_BOOKING + 1)
