"""What a payment fact decides: the booking's state, the seat move, and the follow-up."""

from dataclasses import replace
from datetime import timedelta

import pytest

from domain.booking import BookingStatus, CancelledBy
from domain.errors import IllegalTransition
from domain.money import Money
from domain.payment import (
    CLOCK_SKEW,
    FollowUp,
    SeatMove,
    checkout_expired,
    contradiction,
    dated_ahead,
    dated_on_arrival,
    payment_delayed,
    payment_failed,
    payment_succeeded,
    seats_sold_meanwhile,
)
from domain.tenant import ChargeModel, ConnectStatus, Tenant
from tests.unit.test_booking import NOW, QUOTE, in_status, pending

S = BookingStatus


@pytest.mark.parametrize(
    ("status", "seats"),
    [
        (S.PENDING_PAYMENT, SeatMove.CONFIRM_HOLD),
        (S.AWAITING_ASYNC_PAYMENT, SeatMove.CONFIRM_HOLD),
        (S.EXPIRED, SeatMove.BOOK_AGAIN),
    ],
)
def test_a_payment_confirms_and_books_the_seats(status: BookingStatus, seats: SeatMove) -> None:
    decision = payment_succeeded(in_status(status), "pi_9", NOW)
    assert decision.booking.status is S.CONFIRMED
    assert decision.booking.payment_intent_id is not None
    assert (decision.seats, decision.follow_up) == (seats, FollowUp.NONE)


@pytest.mark.parametrize("status", [S.CONFIRMED, S.CANCELLED])
def test_a_payment_already_recorded_changes_nothing(status: BookingStatus) -> None:
    decision = payment_succeeded(in_status(status), "pi_1", NOW)
    assert not decision.changed
    assert decision.seats is SeatMove.NONE


def test_a_payment_after_it_failed_is_refused() -> None:
    with pytest.raises(IllegalTransition):
        payment_succeeded(in_status(S.PAYMENT_FAILED), "pi_1", NOW)


def test_a_late_payment_whose_seats_were_sold_goes_back_in_full() -> None:
    paid = payment_succeeded(in_status(S.EXPIRED), "pi_1", NOW).booking
    decision = seats_sold_meanwhile(paid)
    assert decision.booking.status is S.CANCELLED
    assert decision.booking.cancelled_by is CancelledBy.SYSTEM
    assert (decision.seats, decision.follow_up) == (SeatMove.NONE, FollowUp.REFUND_IN_FULL)


@pytest.mark.parametrize(
    ("decide", "status", "seats"),
    [
        (payment_delayed, S.AWAITING_ASYNC_PAYMENT, SeatMove.NONE),
        (payment_failed, S.PAYMENT_FAILED, SeatMove.RELEASE_HOLD),
        (checkout_expired, S.EXPIRED, SeatMove.RELEASE_HOLD),
    ],
)
def test_unpaid_outcomes_keep_or_release_the_hold(
    decide: object, status: BookingStatus, seats: SeatMove
) -> None:
    decision = decide(pending())  # type: ignore[operator]
    assert (decision.booking.status, decision.seats) == (status, seats)
    again = decide(decision.booking)  # type: ignore[operator]
    assert not again.changed
    assert again.seats is SeatMove.NONE


# --- A report checked against the booking ----------------------------------------------

SHOP = Tenant(
    id="tn_1",
    name="Studio",
    slug="studio",
    country="US",
    default_currency="usd",
    timezone="UTC",
    connect=ConnectStatus("acct_1", charges_enabled=True),
)


@pytest.mark.parametrize(
    ("charge_model", "account_id", "amount", "matches"),
    [
        (ChargeModel.DESTINATION, None, QUOTE.customer_total, True),
        (ChargeModel.DIRECT, "acct_1", QUOTE.customer_total, True),
        (ChargeModel.DESTINATION, "acct_1", QUOTE.customer_total, False),
        (ChargeModel.DIRECT, None, QUOTE.customer_total, False),
        (ChargeModel.DIRECT, "acct_2", QUOTE.customer_total, False),
        (ChargeModel.DESTINATION, None, Money(1, "usd"), False),
        (ChargeModel.DESTINATION, None, Money(QUOTE.customer_total.amount, "jpy"), False),
        (ChargeModel.DESTINATION, None, None, False),
    ],
)
def test_a_report_must_come_from_the_charges_account_and_charge_the_booking(
    charge_model: ChargeModel, account_id: str | None, amount: Money | None, matches: bool
) -> None:
    tenant = replace(SHOP, charge_model=charge_model)

    assert (contradiction(pending(), tenant, account_id, amount) is None) is matches


def test_an_older_connect_snapshot_changes_nothing_either_way() -> None:
    disabled = ConnectStatus("acct_1", charges_enabled=False)
    newer = SHOP.with_connect_snapshot(disabled, NOW)

    assert SHOP.with_connect_snapshot(disabled, NOW).connect_as_of == NOW
    assert newer.with_connect_snapshot(SHOP.connect, NOW - timedelta(seconds=120)) is newer
    assert newer.with_connect_snapshot(disabled, NOW) is newer
    assert newer.with_connect_snapshot(SHOP.connect, NOW + timedelta(seconds=1)).can_sell


@pytest.mark.parametrize(
    ("status", "seats"),
    [
        (S.PENDING_PAYMENT, SeatMove.RELEASE_HOLD),
        (S.AWAITING_ASYNC_PAYMENT, SeatMove.RELEASE_HOLD),
        (S.EXPIRED, SeatMove.NONE),
    ],
)
def test_a_payment_once_the_slot_started_gives_the_seats_back_and_is_refunded_in_full(
    status: BookingStatus, seats: SeatMove
) -> None:
    booking = in_status(status)
    decision = payment_succeeded(booking, "pi_1", booking.starts_at)
    assert decision.booking.is_paid
    assert (decision.seats, decision.follow_up) == (seats, FollowUp.REFUND_IN_FULL)
    cancelled = seats_sold_meanwhile(decision.booking, "paid after the slot had started")
    assert cancelled.booking.status is S.CANCELLED
    assert cancelled.booking.cancelled_by is CancelledBy.SYSTEM


@pytest.mark.parametrize(
    ("ahead", "believed"),
    [(timedelta(0), True), (CLOCK_SKEW, True), (CLOCK_SKEW + timedelta(seconds=1), False)],
)
def test_a_report_dated_ahead_of_the_clock_beyond_the_skew_is_not_believed(
    ahead: timedelta, believed: bool
) -> None:
    assert (dated_ahead(NOW + ahead, NOW) is None) is believed
    assert dated_ahead(NOW - timedelta(days=365), NOW) is None


def test_a_report_dated_ahead_within_the_skew_counts_as_dated_on_arrival() -> None:
    now = NOW.replace(microsecond=700_000)
    arrived = now.replace(microsecond=0)
    assert dated_on_arrival(now + timedelta(seconds=290), now) == arrived
    assert dated_on_arrival(now, now) == arrived
    assert dated_on_arrival(now - timedelta(minutes=2), now) == now - timedelta(minutes=2)
