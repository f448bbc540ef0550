"""The booking state machine: every status × every fact, refunds, and hold expiry."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.booking import (
    Booking,
    BookingStatus,
    CancelledBy,
    Customer,
    PaymentStatus,
    SeatState,
)
from domain.cancellation import RefundSplit
from domain.errors import (
    IllegalTransition,
    InvalidRefund,
    InvalidSeatCount,
    NaiveDatetime,
    RefundExceedsPaid,
)
from domain.fees import FeePolicy, RefundOnCancel
from domain.hold import MIN_HOLD
from domain.money import Money
from tests.unit.fee_strategies import EXAMPLES

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
QUOTE = FeePolicy(percent_bps=1000).quote(Money(2000, "usd"), 2)  # pays 44.00, fee 4.00
S = BookingStatus


def usd(cents: int) -> Money:
    return Money(cents, "usd")


def pending() -> Booking:
    return Booking(
        id="bk_1",
        tenant_id="tn_1",
        offering_id="of_1",
        slot_id="sl_1",
        seats=2,
        starts_at=NOW + timedelta(days=10),
        customer=Customer("ada@example.com"),
        quote=QUOTE,
        refund_on_cancel=RefundOnCancel.PROPORTIONAL,
        hold_expires_at=NOW + MIN_HOLD,
        created_at=NOW,
    )


def in_status(status: BookingStatus) -> Booking:
    confirmed = pending().confirm("pi_1")
    reach: dict[BookingStatus, Callable[[], Booking]] = {
        S.PENDING_PAYMENT: pending,
        S.AWAITING_ASYNC_PAYMENT: lambda: pending().await_async_payment(),
        S.CONFIRMED: lambda: confirmed,
        S.EXPIRED: lambda: pending().expire(),
        S.PAYMENT_FAILED: lambda: pending().fail_payment(),
        S.CANCELLED: lambda: confirmed.cancel(CancelledBy.CUSTOMER),
    }
    return reach[status]()


FACTS: dict[str, Callable[[Booking], Booking]] = {
    "confirm": lambda b: b.confirm("pi_2"),
    "await": lambda b: b.await_async_payment(),
    "fail": lambda b: b.fail_payment(),
    "expire": lambda b: b.expire(),
    "cancel": lambda b: b.cancel(CancelledBy.TENANT),
    "refund": lambda b: b.record_refund("re_1", RefundSplit(usd(1000), usd(91))),
    "attach": lambda b: b.attach_session("cs_1"),
    "abandon": lambda b: b.abandon(),
}

SAME, ILLEGAL = "same", "illegal"
# Rows: from status; columns: the facts above, in order.
MATRIX = {
    S.PENDING_PAYMENT: [S.CONFIRMED, S.AWAITING_ASYNC_PAYMENT, S.PAYMENT_FAILED, S.EXPIRED,
                        ILLEGAL, ILLEGAL, "attached", S.EXPIRED],
    S.AWAITING_ASYNC_PAYMENT: [S.CONFIRMED, SAME, S.PAYMENT_FAILED, S.EXPIRED,
                               ILLEGAL, ILLEGAL, ILLEGAL, ILLEGAL],
    S.CONFIRMED: [SAME, SAME, ILLEGAL, ILLEGAL, S.CANCELLED, S.CONFIRMED, ILLEGAL, ILLEGAL],
    S.EXPIRED: [S.CONFIRMED, ILLEGAL, ILLEGAL, SAME, ILLEGAL, ILLEGAL, ILLEGAL, SAME],
    S.PAYMENT_FAILED: [ILLEGAL, ILLEGAL, SAME, ILLEGAL, ILLEGAL, ILLEGAL, ILLEGAL, ILLEGAL],
    S.CANCELLED: [SAME, SAME, ILLEGAL, ILLEGAL, SAME, S.CANCELLED, ILLEGAL, ILLEGAL],
}  # fmt: skip
CASES = [
    pytest.param(status, fact, outcome, id=f"{status}-{fact}")
    for status, outcomes in MATRIX.items()
    for fact, outcome in zip(FACTS, outcomes, strict=True)
]


def test_the_matrix_covers_every_status() -> None:
    assert set(MATRIX) == set(BookingStatus)


@pytest.mark.parametrize(("status", "fact", "outcome"), CASES)
def test_every_fact_in_every_status(status: BookingStatus, fact: str, outcome: str) -> None:
    booking = in_status(status)
    apply = FACTS[fact]
    if outcome == ILLEGAL:
        with pytest.raises(IllegalTransition) as refused:
            apply(booking)
        assert (refused.value.booking_id, refused.value.status) == ("bk_1", status)
        return
    after = apply(booking)
    if outcome == SAME:
        assert after is booking
        return
    if outcome == "attached":
        assert (after.status, after.gateway_session_id) == (S.PENDING_PAYMENT, "cs_1")
    else:
        assert after.status is BookingStatus(outcome)
    # Every transition is idempotent: the same fact again changes nothing.
    assert apply(after) is after


def test_seats_follow_the_status() -> None:
    expected = {
        S.PENDING_PAYMENT: SeatState.HELD,
        S.AWAITING_ASYNC_PAYMENT: SeatState.HELD,
        S.CONFIRMED: SeatState.BOOKED,
        S.EXPIRED: SeatState.RELEASED,
        S.PAYMENT_FAILED: SeatState.RELEASED,
        S.CANCELLED: SeatState.RELEASED,
    }
    assert {status: in_status(status).seat_state for status in S} == expected
    assert {s for s in S if in_status(s).is_paid} == {S.CONFIRMED, S.CANCELLED}


def test_confirming_keeps_the_first_payment_intent() -> None:
    confirmed = pending().confirm("pi_1")
    assert confirmed.payment_intent_id == "pi_1"
    assert confirmed.confirm("pi_other").payment_intent_id == "pi_1"
    assert pending().await_async_payment().confirm().payment_intent_id is None


def test_a_cancellation_records_who_cancelled_and_why() -> None:
    cancelled = in_status(S.CONFIRMED).cancel(CancelledBy.TENANT, "the teacher is ill")
    assert (cancelled.cancelled_by, cancelled.cancellation_reason) == (
        CancelledBy.TENANT,
        "the teacher is ill",
    )
    assert cancelled.cancel(CancelledBy.CUSTOMER).cancelled_by is CancelledBy.TENANT


def test_a_second_checkout_session_is_refused() -> None:
    attached = pending().attach_session("cs_1")
    assert attached.attach_session("cs_1") is attached
    with pytest.raises(IllegalTransition):
        attached.attach_session("cs_2")


class TestRefunds:
    def test_refunds_add_up_and_the_rest_stays_refundable(self) -> None:
        booking = in_status(S.CONFIRMED)
        assert booking.refundable == usd(4400)
        booking = booking.record_refund("re_1", RefundSplit(usd(1000), usd(91)))
        booking = booking.record_refund("re_2", RefundSplit(usd(3400), usd(309)))
        assert booking.refunded == RefundSplit(usd(4400), usd(400))
        assert booking.refundable == usd(0)
        assert booking.status is S.CONFIRMED  # a refund never gives the seats back
        assert booking.payment_status is PaymentStatus.REFUNDED

    def test_a_refund_is_recorded_once_by_its_gateway_id(self) -> None:
        booking = in_status(S.CONFIRMED).record_refund("re_1", RefundSplit(usd(1000), usd(0)))
        assert booking.record_refund("re_1", RefundSplit(usd(1000), usd(0))) is booking
        assert len(booking.refunds) == 1

    def test_a_refund_beyond_what_was_paid_is_refused(self) -> None:
        booking = in_status(S.CONFIRMED).record_refund("re_0", RefundSplit(usd(500), usd(45)))
        with pytest.raises(RefundExceedsPaid) as refused:
            booking.record_refund("re_1", RefundSplit(usd(3901), usd(0)))
        assert (refused.value.requested, refused.value.refundable) == (3901, 3900)

    @pytest.mark.parametrize(
        "split",
        [
            RefundSplit(usd(0), usd(0)),
            RefundSplit(usd(-100), usd(0)),
            RefundSplit(Money(100, "eur"), Money(0, "eur")),
            RefundSplit(usd(1000), usd(-1)),
            RefundSplit(usd(1000), usd(401)),
        ],
        ids=["empty", "negative", "other currency", "negative fee", "more fee than held"],
    )
    def test_a_refund_that_makes_no_sense_is_refused(self, split: RefundSplit) -> None:
        with pytest.raises(InvalidRefund):
            in_status(S.CONFIRMED).record_refund("re_1", split)

    def test_an_unpaid_booking_has_nothing_to_refund(self) -> None:
        assert pending().refundable == usd(0)
        with pytest.raises(IllegalTransition):
            pending().record_refund("re_1", RefundSplit(usd(100), usd(0)))


def test_a_booking_needs_seats_and_aware_times() -> None:
    from dataclasses import replace

    with pytest.raises(InvalidSeatCount):
        replace(pending(), seats=0)
    with pytest.raises(NaiveDatetime):
        replace(pending(), starts_at=datetime(2026, 3, 11, 10, 0))  # noqa: DTZ001


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from(sorted(FACTS)), max_size=8))
def test_any_sequence_of_facts_keeps_the_booking_consistent(facts: list[str]) -> None:
    booking = pending()
    for fact in facts:
        try:
            after = FACTS[fact](booking)
        except (IllegalTransition, RefundExceedsPaid):
            continue
        assert FACTS[fact](after) is after  # the same fact twice changes nothing
        assert after.refunded.customer_refund <= after.quote.customer_total
        assert after.is_paid or not after.refunds
        booking = after


def test_a_reserved_refund_holds_its_money_but_is_not_refunded_until_settled() -> None:
    paid = in_status(S.CONFIRMED)
    split = RefundSplit(usd(3000), usd(300))

    reserved = paid.reserve_refund("bookpay-refund-1", split)

    assert reserved.status is S.CONFIRMED  # nothing went back yet
    assert reserved.refundable == usd(1400)  # its money is held back from other refunds
    assert reserved.refunded.customer_refund == usd(0)  # but it is not refunded money
    assert reserved.refunded_or_reserved == split
    assert [r.refund_id for r in reserved.unknown_refunds] == ["bookpay-refund-1"]
    assert reserved.reserve_refund("bookpay-refund-1", split) is reserved
    with pytest.raises(RefundExceedsPaid):
        reserved.reserve_refund("bookpay-refund-2", RefundSplit(usd(1401), usd(0)))


def test_a_reserved_refund_is_settled_under_the_gateways_id_once() -> None:
    split = RefundSplit(usd(3000), usd(300))
    reserved = in_status(S.CONFIRMED).reserve_refund("bookpay-refund-1", split)

    settled = reserved.settle_refund("bookpay-refund-1", "re_1")

    assert settled.status is S.CONFIRMED
    assert settled.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert [(r.refund_id, r.pending) for r in settled.refunds] == [("re_1", False)]
    assert settled.settle_refund("bookpay-refund-1", "re_1") is settled
    assert settled.refundable == usd(1400)
    assert settled.refunded == split
    assert settled.unknown_refunds == ()
    # The request that reserved it, asked again, finds it under its reservation id.
    assert settled.refund_by_id("bookpay-refund-1") == settled.refunds[0]
    assert settled.reserve_refund("bookpay-refund-1", split) is settled


def test_a_released_reservation_gives_the_amount_back_to_refund() -> None:
    paid = in_status(S.CONFIRMED)
    reserved = paid.reserve_refund("bookpay-refund-1", RefundSplit(usd(3000), usd(300)))

    released = reserved.release_refund("bookpay-refund-1")

    assert released.refunds == ()
    assert released.refundable == paid.refundable
    assert released.release_refund("bookpay-refund-1") is released


def test_settling_a_refund_never_reserved_is_refused() -> None:
    with pytest.raises(InvalidRefund):
        in_status(S.CONFIRMED).settle_refund("bookpay-refund-9", "re_9")


def test_a_booking_the_system_cancelled_owes_everything_until_refunded_in_full() -> None:
    paid = in_status(S.CONFIRMED)
    cancelled = paid.cancel(CancelledBy.SYSTEM, "paid after the hold lapsed")
    assert cancelled.owes_system_refund
    assert cancelled.system_refund().customer_refund == paid.quote.customer_total
    assert cancelled.system_refund().application_fee_refund == paid.quote.application_fee
    assert not paid.cancel(CancelledBy.TENANT).owes_system_refund

    reserved = cancelled.reserve_refund("bookpay-refund-1", cancelled.system_refund())

    assert not reserved.owes_system_refund  # reserved: converging is up to the reservation
    refunded = reserved.settle_refund("bookpay-refund-1", "re_1")
    assert not refunded.owes_system_refund
    assert refunded.refunded.customer_refund == paid.quote.customer_total


@pytest.mark.parametrize("status", list(S))
def test_only_a_pending_booking_without_a_session_takes_one(status: BookingStatus) -> None:
    booking = in_status(status)
    assert booking.can_attach_session == (status is S.PENDING_PAYMENT)
    assert not pending().attach_session("cs_1").can_attach_session
    if not booking.can_attach_session:
        with pytest.raises(IllegalTransition):
            booking.attach_session("cs_9")
