"""The bounds of what may be sold, stated once in the domain (the HTTP schema shows the
same constants), each checked at both edges."""

from datetime import UTC, datetime

import pytest

from domain.cancellation import MAX_WINDOW_HOURS, CancellationPolicy, CancellationWindow
from domain.errors import (
    InvalidCancellationPolicy,
    InvalidOffering,
    InvalidSeatCount,
    InvalidSlotCount,
    TooManySeatsPerBooking,
)
from domain.money import Money
from domain.offering import (
    DEFAULT_MAX_SEATS_PER_BOOKING,
    MAX_CAPACITY,
    MAX_DURATION_MINUTES,
    MAX_SEATS_PER_BOOKING,
    MAX_SLOTS_PER_REQUEST,
    Offering,
    require_booking_seats,
    require_slot_count,
    unpaid_hold_share,
)


def offering(**fields: object) -> Offering:
    values: dict[str, object] = {
        "id": "of_1",
        "tenant_id": "tn_1",
        "name": "Choir",
        "price": Money(1000, "eur"),
        "duration_minutes": 60,
        "capacity": MAX_CAPACITY,
    }
    values.update(fields)
    return Offering(**values)  # type: ignore[arg-type]


def test_one_booking_takes_one_to_a_thousand_seats() -> None:
    assert MAX_SEATS_PER_BOOKING == 1_000
    assert require_booking_seats(1) == 1
    assert require_booking_seats(MAX_SEATS_PER_BOOKING) == MAX_SEATS_PER_BOOKING
    for seats in (0, MAX_SEATS_PER_BOOKING + 1):
        with pytest.raises(InvalidSeatCount) as refused:
            require_booking_seats(seats)
        assert refused.value.seats == seats


def test_an_offering_never_sells_more_than_the_ceiling_at_once() -> None:
    big = offering(max_seats_per_booking=MAX_CAPACITY)
    assert big.seats_per_booking_limit() == MAX_SEATS_PER_BOOKING
    big.ensure_seats_per_booking(MAX_SEATS_PER_BOOKING)
    with pytest.raises(TooManySeatsPerBooking) as refused:
        big.ensure_seats_per_booking(MAX_SEATS_PER_BOOKING + 1)
    assert refused.value.maximum == MAX_SEATS_PER_BOOKING
    assert offering().seats_per_booking_limit() == DEFAULT_MAX_SEATS_PER_BOOKING
    assert offering().seats_per_booking_limit(5_000) == MAX_SEATS_PER_BOOKING


def test_a_quote_is_for_a_bookable_number_of_seats() -> None:
    big = offering(max_seats_per_booking=MAX_SEATS_PER_BOOKING)
    assert big.quote(MAX_SEATS_PER_BOOKING, None).seats == MAX_SEATS_PER_BOOKING
    with pytest.raises(InvalidSeatCount):
        big.quote(MAX_SEATS_PER_BOOKING + 1, None)
    # As checkout: no more than one booking may take (the platform's default here).
    with pytest.raises(TooManySeatsPerBooking):
        offering().quote(DEFAULT_MAX_SEATS_PER_BOOKING + 1, None)


@pytest.mark.parametrize(
    ("capacity", "share"), [(1, 1), (2, 1), (3, 2), (8, 4), (9, 5), (10, 5), (30, 15)]
)
def test_one_unpaid_hold_takes_at_most_half_a_slot_rounded_up(capacity: int, share: int) -> None:
    assert unpaid_hold_share(capacity) == share


def test_without_a_cap_of_its_own_one_booking_takes_half_the_slot_or_the_default() -> None:
    """Issue 14: a 10-seat class under a default of 10 was one checkout's to hold whole."""
    small = offering(capacity=10)
    assert small.seats_per_booking_limit() == 5  # a slot of the offering's capacity
    assert small.seats_per_booking_limit(slot_capacity=8) == 4  # the slot booked decides
    assert small.seats_per_booking_limit(slot_capacity=100) == DEFAULT_MAX_SEATS_PER_BOOKING
    assert small.seats_per_booking_limit(3, slot_capacity=100) == 3
    small.ensure_seats_per_booking(4, slot_capacity=8)
    with pytest.raises(TooManySeatsPerBooking) as refused:
        small.ensure_seats_per_booking(5, slot_capacity=8)
    assert refused.value.maximum == 4
    with pytest.raises(TooManySeatsPerBooking):
        small.quote(6, None)
    # A tenant that sells whole slots says so: its own cap rules, whatever the slot.
    whole = offering(capacity=10, max_seats_per_booking=10)
    assert whole.seats_per_booking_limit(slot_capacity=10) == 10
    assert whole.quote(10, None).seats == 10


def test_capacity_and_duration_have_their_bounds() -> None:
    offering(capacity=1, duration_minutes=1)
    offering(capacity=MAX_CAPACITY, duration_minutes=MAX_DURATION_MINUTES)
    for fields in (
        {"capacity": MAX_CAPACITY + 1},
        {"duration_minutes": MAX_DURATION_MINUTES + 1},
        {"duration_minutes": 0},
    ):
        with pytest.raises(InvalidOffering):
            offering(**fields)


def test_one_request_opens_one_to_five_hundred_slots() -> None:
    assert require_slot_count(1) == 1
    assert require_slot_count(MAX_SLOTS_PER_REQUEST) == MAX_SLOTS_PER_REQUEST
    for count in (0, MAX_SLOTS_PER_REQUEST + 1):
        with pytest.raises(InvalidSlotCount):
            require_slot_count(count)


def test_a_window_opens_at_most_a_leap_year_before_the_start() -> None:
    policy = CancellationPolicy((CancellationWindow(MAX_WINDOW_HOURS, 100),))
    starts = datetime(2027, 1, 1, tzinfo=UTC)
    assert policy.refund_percent(starts, datetime(2025, 12, 31, tzinfo=UTC)) == 100
    for hours in (MAX_WINDOW_HOURS + 1, -1, True, 1.5):
        with pytest.raises(InvalidCancellationPolicy):
            CancellationPolicy((CancellationWindow(hours, 50),))  # type: ignore[arg-type]


@pytest.mark.parametrize("percent", [-1, 101, True, 50.0])
def test_a_window_refunds_a_whole_percentage(percent: object) -> None:
    with pytest.raises(InvalidCancellationPolicy):
        CancellationPolicy((CancellationWindow(24, percent),))  # type: ignore[arg-type]
