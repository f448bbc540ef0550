"""Terms of sale frozen on a booking; slot resizing and cancellation; delayed payment
deadlines; the seats one booking may take."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.booking import Booking, BookingStatus, Customer
from domain.cancellation import CancellationPolicy, CancellationWindow, RefundSplit
from domain.errors import (
    CancellationWindowClosed,
    CapacityBelowSeatsTaken,
    InvalidOffering,
    SlotCancelled,
    TooManySeatsPerBooking,
)
from domain.fee_quote import FeePolicyRef, FeePolicyScope
from domain.fees import FeePolicy, RefundOnCancel
from domain.hold import ASYNC_PAYMENT_HOLD, async_payment_deadline
from domain.money import Money
from domain.offering import DEFAULT_MAX_SEATS_PER_BOOKING, Offering, Slot
from domain.terms import Terms

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
QUOTE = FeePolicy(percent_bps=1000).quote(Money(2000, "usd"), 2)  # pays 44.00, fee 4.00
HALF_AFTER_48 = CancellationPolicy((CancellationWindow(48, 100), CancellationWindow(24, 50)))
NOTHING = RefundSplit.nothing("usd")


def booking(**changes: object) -> Booking:
    values: dict[str, object] = {
        "id": "bk_1",
        "tenant_id": "tn_1",
        "offering_id": "of_1",
        "slot_id": "sl_1",
        "seats": 2,
        "starts_at": NOW + timedelta(days=10),
        "customer": Customer("ada@example.com"),
        "quote": QUOTE,
        "refund_on_cancel": RefundOnCancel.PROPORTIONAL,
        "hold_expires_at": NOW + timedelta(minutes=30),
        "created_at": NOW,
    }
    values.update(changes)
    return Booking(**values)  # type: ignore[arg-type]


def test_a_booking_names_the_terms_it_was_sold_under() -> None:
    offerings_own = FeePolicyRef("of_1", 3, FeePolicyScope.OFFERING)
    sold = booking(cancellation_policy=HALF_AFTER_48, quote=QUOTE.named(offerings_own))

    assert sold.terms == Terms(HALF_AFTER_48, RefundOnCancel.PROPORTIONAL, offerings_own)
    tenants = FeePolicyRef("tn_1", 1, FeePolicyScope.TENANT)
    assert booking(quote=QUOTE.named(tenants)).terms.fee_policy == tenants


@pytest.mark.parametrize(
    ("hours_before", "refund"),
    [(72, 4400), (48, 4400), (30, 2200), (24, 2200)],
)
def test_a_customer_gets_what_the_frozen_windows_give(hours_before: int, refund: int) -> None:
    terms = booking(cancellation_policy=HALF_AFTER_48).terms
    starts_at = NOW + timedelta(hours=hours_before)

    split = terms.customer_refund(QUOTE, starts_at, NOW, NOTHING)

    assert split.customer_refund == Money(refund, "usd")


def test_outside_every_frozen_window_the_customer_can_no_longer_cancel() -> None:
    terms = booking(cancellation_policy=HALF_AFTER_48).terms
    with pytest.raises(CancellationWindowClosed):
        terms.customer_refund(QUOTE, NOW + timedelta(hours=23), NOW, NOTHING)


def test_without_a_policy_the_customer_gets_everything_back_up_to_the_start() -> None:
    terms = booking().terms
    assert terms.customer_refund(QUOTE, NOW + timedelta(hours=1), NOW, NOTHING).customer_refund == (
        Money(4400, "usd")
    )
    assert terms.tenant_refund(QUOTE, NOTHING).customer_refund == Money(4400, "usd")


def test_a_delayed_payment_holds_its_seats_for_the_vouchers_days_never_past_the_start() -> None:
    waiting = booking().await_async_payment()

    assert waiting.status is BookingStatus.AWAITING_ASYNC_PAYMENT
    assert waiting.hold_expires_at == NOW + timedelta(minutes=30) + ASYNC_PAYMENT_HOLD
    soon = NOW + timedelta(hours=5)
    assert async_payment_deadline(NOW, soon) == soon


def test_a_slot_is_resized_but_never_below_its_seats_taken() -> None:
    slot = Slot("sl_1", "tn_1", "of_1", NOW, capacity=6, held=2, booked=1)

    assert slot.resize(3).seats_available == 0
    assert slot.resize(10).seats_available == 7
    with pytest.raises(CapacityBelowSeatsTaken):
        slot.resize(2)
    with pytest.raises(InvalidOffering):
        slot.resize(0)


def test_a_cancelled_slot_sells_nothing_and_keeps_its_first_cancellation() -> None:
    slot = Slot("sl_1", "tn_1", "of_1", NOW + timedelta(days=1), capacity=6)

    cancelled = slot.cancel(NOW, "flooded")

    assert cancelled.cancel(NOW + timedelta(hours=1), "again") is cancelled
    assert cancelled.cancellation_reason == "flooded"
    with pytest.raises(SlotCancelled):
        cancelled.ensure_bookable_at(NOW)
    with pytest.raises(SlotCancelled):
        cancelled.resize(8)


def test_an_offering_limits_the_seats_of_one_booking() -> None:
    offering = Offering(
        "of_1", "tn_1", "Class", Money(2000, "usd"), 60, 10, max_seats_per_booking=3
    )
    offering.ensure_seats_per_booking(3)
    with pytest.raises(TooManySeatsPerBooking):
        offering.ensure_seats_per_booking(4)
    with pytest.raises(InvalidOffering):
        Offering("of_1", "tn_1", "Class", Money(2000, "usd"), 60, 10, max_seats_per_booking=0)


def test_an_offering_without_a_cap_of_its_own_sells_the_platforms_default_at_most() -> None:
    offering = Offering("of_1", "tn_1", "Class", Money(2000, "usd"), 60, 100)
    assert offering.seats_per_booking_limit() == DEFAULT_MAX_SEATS_PER_BOOKING == 10

    offering.ensure_seats_per_booking(10)
    with pytest.raises(TooManySeatsPerBooking) as refused:
        offering.ensure_seats_per_booking(11)
    assert refused.value.maximum == 10
    offering.ensure_seats_per_booking(25, platform_default=25)
    with pytest.raises(TooManySeatsPerBooking):
        offering.ensure_seats_per_booking(26, platform_default=25)
    # The offering's own cap wins over the platform's, above or below it.
    replace(offering, max_seats_per_booking=100).ensure_seats_per_booking(100)
    with pytest.raises(TooManySeatsPerBooking):
        replace(offering, max_seats_per_booking=2).ensure_seats_per_booking(3, 25)
