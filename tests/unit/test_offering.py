"""Offerings and slots: what can be sold, and seats that never exceed capacity."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.cancellation import CancellationPolicy
from domain.errors import (
    CapacityBelowSeatsTaken,
    InvalidOffering,
    InvalidSeatCount,
    NaiveDatetime,
    OfferingArchived,
    SeatsUnavailable,
    SlotAlreadyStarted,
    SlotCancelled,
    SlotCapacityError,
)
from domain.fees import FeePolicy, policy_or_no_fee
from domain.money import Money
from domain.offering import MAX_CAPACITY, Offering, Slot
from tests.unit.fee_strategies import EXAMPLES

STARTS_AT = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)


def offering(**changes: object) -> Offering:
    base = Offering(
        id="of_1",
        tenant_id="tn_1",
        name="Pottery class",
        price=Money(2000, "usd"),
        duration_minutes=90,
        capacity=8,
        cancellation_policy=CancellationPolicy(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def slot(capacity: int = 10, held: int = 0, booked: int = 0) -> Slot:
    return Slot("sl_1", "tn_1", "of_1", STARTS_AT, capacity, held, booked)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "  "},
        {"price": Money(0, "usd")},
        {"price": Money(-100, "usd")},
        {"price": Money(1005, "kwd")},
        {"duration_minutes": 0},
        {"duration_minutes": 60 * 24 * 31 + 1},
        {"capacity": 0},
        {"capacity": MAX_CAPACITY + 1},
        {"capacity": True},
        {"capacity": 2.5},
    ],
    ids=repr,
)
def test_an_offering_that_cannot_be_sold_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidOffering):
        offering(**changes)


def test_an_archived_offering_cannot_be_booked() -> None:
    archived = offering().archive()
    assert archived.archived
    with pytest.raises(OfferingArchived):
        archived.ensure_bookable()
    with pytest.raises(OfferingArchived):
        archived.new_slot("sl_1", STARTS_AT)


def test_an_offering_fee_policy_overrides_the_tenant_one() -> None:
    tenant_policy, own_policy = FeePolicy(percent_bps=500), FeePolicy(percent_bps=300)
    assert offering().effective_fee_policy(tenant_policy) is tenant_policy
    assert offering(fee_policy=own_policy).effective_fee_policy(tenant_policy) is own_policy


def test_a_new_slot_starts_in_utc_with_the_offering_capacity() -> None:
    paris = timezone(timedelta(hours=1))
    new = offering().new_slot("sl_1", datetime(2026, 3, 20, 19, 0, tzinfo=paris))
    assert new.starts_at == STARTS_AT
    assert new.starts_at.tzinfo == UTC
    assert (new.capacity, new.held, new.booked, new.seats_available) == (8, 0, 0, 8)
    assert offering().new_slot("sl_2", STARTS_AT, capacity=3).capacity == 3


def test_a_slot_needs_an_aware_start() -> None:
    with pytest.raises(NaiveDatetime):
        Slot("sl_1", "tn_1", "of_1", datetime(2026, 3, 20, 18, 0), 10)  # noqa: DTZ001


@pytest.mark.parametrize(("held", "booked"), [(6, 5), (-1, 0), (0, -1), (11, 0)])
def test_a_slot_is_never_overbooked(held: int, booked: int) -> None:
    with pytest.raises(SlotCapacityError):
        slot(10, held, booked)


def test_seats_are_held_then_booked_or_released() -> None:
    held = slot().hold(3)
    assert (held.held, held.booked, held.seats_available) == (3, 0, 7)
    confirmed = held.confirm_hold(2)
    assert (confirmed.held, confirmed.booked) == (1, 2)
    released = confirmed.release_hold(1)
    assert (released.held, released.booked, released.seats_available) == (0, 2, 8)
    assert released.release_booked(2) == slot()


def test_holding_more_than_is_free_is_refused_with_the_numbers() -> None:
    with pytest.raises(SeatsUnavailable) as refused:
        slot(10, held=4, booked=4).hold(3)
    assert (refused.value.requested, refused.value.available) == (3, 2)


def test_a_cancelled_slot_takes_no_seats_held_or_booked() -> None:
    cancelled = slot(4).cancel(STARTS_AT - timedelta(days=1))
    with pytest.raises(SlotCancelled):
        cancelled.hold(1)
    with pytest.raises(SlotCancelled):
        cancelled.book(1)


def test_a_late_payment_books_only_seats_that_are_free() -> None:
    assert slot(4, booked=2).book(2).booked == 4
    with pytest.raises(SeatsUnavailable):
        slot(4, held=2, booked=1).book(2)


@pytest.mark.parametrize(
    "move",
    [Slot.release_hold, Slot.confirm_hold, Slot.release_booked],
    ids=lambda move: move.__name__,
)
def test_seats_that_were_never_there_cannot_move(move: object) -> None:
    with pytest.raises(SlotCapacityError):
        move(slot(10, held=1, booked=1), 2)  # type: ignore[operator]


@pytest.mark.parametrize("seats", [0, -2, True, 1.5, "2"])
def test_seat_counts_are_whole_and_positive(seats: object) -> None:
    with pytest.raises(InvalidSeatCount):
        slot().hold(seats)  # type: ignore[arg-type]


MOVES = {
    "hold": Slot.hold,
    "release_hold": Slot.release_hold,
    "confirm_hold": Slot.confirm_hold,
    "book": Slot.book,
    "release_booked": Slot.release_booked,
}


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.integers(1, 12),
    st.lists(st.tuples(st.sampled_from(sorted(MOVES)), st.integers(1, 6)), max_size=12),
)
def test_no_sequence_of_moves_overbooks_a_slot(capacity: int, moves: list[tuple[str, int]]) -> None:
    current = slot(capacity)
    for name, seats in moves:
        free, held, booked = current.seats_available, current.held, current.booked
        try:
            current = MOVES[name](current, seats)
        except (SeatsUnavailable, SlotCapacityError):
            needed = {"hold": free, "book": free, "release_booked": booked}.get(name, held)
            assert seats > needed
            continue
        assert 0 <= current.held + current.booked <= current.capacity == capacity
        assert current.seats_available == capacity - current.held - current.booked


def test_a_slot_is_sold_until_it_starts_never_after() -> None:
    from datetime import UTC, datetime, timedelta

    from domain.errors import SlotAlreadyStarted
    from domain.offering import Slot

    starts = datetime(2030, 1, 1, 10, tzinfo=UTC)
    slot = Slot("sl_1", "tn_1", "of_1", starts, capacity=2)
    slot.ensure_bookable_at(starts - timedelta(seconds=1))
    for moment in (starts, starts + timedelta(hours=1)):
        with pytest.raises(SlotAlreadyStarted):
            slot.ensure_bookable_at(moment)


class TestTheSeatArithmetic:
    """The predicates the repositories ask, at their boundaries, and the moves agreeing."""

    def test_seats_can_be_held_up_to_the_last_free_one(self) -> None:
        current = slot(10, held=4, booked=3)
        assert current.can_hold(3)
        assert not current.can_hold(4)
        assert current.hold(3).seats_available == 0

    def test_a_cancelled_slot_holds_and_books_nothing(self) -> None:
        cancelled = slot(10).cancel(STARTS_AT - timedelta(hours=1))
        assert not cancelled.can_hold(1)
        with pytest.raises(SlotCancelled):
            cancelled.hold(1)
        with pytest.raises(SlotCancelled):
            cancelled.book(1)

    def test_a_late_payment_books_exactly_what_holding_would_take(self) -> None:
        for held, booked in [(0, 0), (4, 3), (5, 5), (0, 9)]:
            current = slot(10, held=held, booked=booked)
            for seats in range(1, 12):
                if current.can_hold(seats):
                    assert current.book(seats).booked == booked + seats
                else:
                    with pytest.raises(SeatsUnavailable):
                        current.book(seats)

    def test_held_seats_move_only_while_held(self) -> None:
        current = slot(10, held=2, booked=5)
        assert current.can_release_hold(2)
        assert current.can_confirm_hold(2)
        assert not current.can_release_hold(3)
        assert not current.can_confirm_hold(3)
        assert current.confirm_hold(2) == slot(10, held=0, booked=7)

    def test_booked_seats_go_back_only_while_booked(self) -> None:
        current = slot(10, held=2, booked=5)
        assert current.can_release_booked(5)
        assert not current.can_release_booked(6)
        assert current.release_booked(5) == slot(10, held=2, booked=0)

    def test_a_slot_resizes_down_to_the_seats_it_has_taken(self) -> None:
        current = slot(10, held=2, booked=5)
        assert current.can_resize(7)
        assert not current.can_resize(6)
        assert current.resize(7).capacity == 7
        with pytest.raises(CapacityBelowSeatsTaken):
            current.resize(6)

    @pytest.mark.parametrize(
        "ask",
        [
            Slot.can_hold,
            Slot.can_release_hold,
            Slot.can_confirm_hold,
            Slot.can_release_booked,
        ],
        ids=lambda ask: ask.__name__,
    )
    @pytest.mark.parametrize("seats", [0, -1, True, 1.5])
    def test_every_predicate_wants_a_whole_positive_count(self, ask: object, seats: object) -> None:
        with pytest.raises(InvalidSeatCount):
            ask(slot(10, held=5, booked=5), seats)  # type: ignore[operator]


def test_without_a_policy_an_offering_costs_its_price_and_no_fee() -> None:
    quote = offering().quote(3, None)
    assert quote.subtotal == quote.customer_total == Money(6000, "usd")
    assert quote.service_fee.is_zero
    assert quote.application_fee.is_zero
    assert offering().effective_fee_policy(None) == FeePolicy()
    assert policy_or_no_fee(None) == FeePolicy()
    kept = FeePolicy(percent_bps=500)
    assert policy_or_no_fee(kept) is kept


def test_an_offering_quotes_under_its_override_first() -> None:
    own = FeePolicy(percent_bps=1000)
    quote = offering(fee_policy=own).quote(1, FeePolicy(percent_bps=500))
    assert quote.service_fee == Money(200, "usd")


def test_a_slot_that_started_can_be_neither_cancelled_nor_resized() -> None:
    with pytest.raises(SlotAlreadyStarted):
        slot(4).cancel(STARTS_AT)
    with pytest.raises(SlotAlreadyStarted):
        slot(4).ensure_resizable_at(STARTS_AT)
    cancelled = slot(4).cancel(STARTS_AT - timedelta(hours=1))
    assert cancelled.cancel(STARTS_AT + timedelta(hours=1)) is cancelled  # finishing later


def test_a_price_below_stripes_minimum_charge_cannot_be_sold() -> None:
    offering(price=Money(50, "usd")).ensure_sellable()
    with pytest.raises(InvalidOffering, match=r"^price:"):
        offering(price=Money(49, "usd")).ensure_sellable()
