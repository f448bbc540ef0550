"""Steps for features/cancellations.feature: policy windows, refunds and who bears them."""

from dataclasses import dataclass

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from domain.booking import Booking, BookingStatus, CancelledBy
from domain.cancellation import (
    CancellationPolicy,
    CancellationWindow,
    RefundSplit,
    customer_cancellation_refund,
    partial_refund,
    tenant_cancellation_refund,
)
from domain.errors import DomainError
from tests.bdd.conftest import (
    STARTS_AT,
    Outcome,
    PolicyDraft,
    assert_money,
    attempt,
    new_booking,
)
from tests.bdd.notation import parse_duration, parse_money, parse_percent, parse_windows

scenarios("cancellations.feature")


@dataclass(frozen=True)
class Cancellation:
    """Where a booking stands after a cancellation or refunds: the booking, and the last
    refund and refund percentage when there was one."""

    booking: Booking | None
    refund_percent: int | None = None
    split: RefundSplit | None = None


def parse_cancellation_policy(text: str) -> CancellationPolicy:
    """Read "48 h: 100%; 24 h: 50%" as two windows, and "none" as no windows."""
    return CancellationPolicy(
        tuple(CancellationWindow(hours, percent) for hours, percent in parse_windows(text))
    )


def record(booking: Booking, split: RefundSplit, refund_id: str) -> Booking:
    return booking if split.is_empty else booking.record_refund(refund_id, split)


def customer_cancels(booking: Booking, percent: int) -> Cancellation:
    split = customer_cancellation_refund(
        booking.quote, percent, booking.refund_on_cancel, already=booking.refunded
    )
    cancelled = record(booking.cancel(CancelledBy.CUSTOMER), split, "re_cancel")
    return Cancellation(cancelled, percent, split)


def _cancellation(outcome: Outcome) -> Cancellation:
    cancellation = outcome.result()
    assert isinstance(cancellation, Cancellation)
    return cancellation


def _booking(outcome: Outcome) -> Booking:
    cancellation = _cancellation(outcome)
    assert cancellation.booking is not None, "this scenario has no paid booking"
    return cancellation.booking


def _split(outcome: Outcome) -> RefundSplit:
    split = _cancellation(outcome).split
    assert split is not None, "nothing was refunded in this scenario"
    return split


# --- Given ---------------------------------------------------------------------------


@pytest.fixture
def cancellation_policy() -> CancellationPolicy:
    return CancellationPolicy()


@pytest.fixture
def booking() -> Booking | None:
    return None


@given(
    parsers.re(r'the cancellation policy "(?P<windows>.*)"'), target_fixture="cancellation_policy"
)
def the_cancellation_policy(windows: str) -> CancellationPolicy:
    return parse_cancellation_policy(windows)


@given(
    parsers.re(r"a customer has paid for (?P<seats>\d+) seats? at (?P<price>.+) each"),
    target_fixture="booking",
)
def customer_has_paid(policy_draft: PolicyDraft, seats: str, price: str) -> Booking:
    unit_price = parse_money(price)
    quote = policy_draft.build(unit_price.currency).quote(unit_price, int(seats))
    return new_booking(quote, policy_draft.refund_on_cancel).confirm("pi_1")


@given(parsers.re(r"the tenant has already refunded (?P<amount>.+)"), target_fixture="booking")
def tenant_already_refunded(booking: Booking, amount: str) -> Booking:
    split = partial_refund(
        booking.quote, parse_money(amount), booking.refund_on_cancel, booking.refunded
    )
    return booking.record_refund("re_earlier", split)


# --- When ----------------------------------------------------------------------------


@when(
    parsers.re(r'a tenant sets the cancellation policy "(?P<windows>.*)"'),
    target_fixture="outcome",
)
def tenant_sets_policy(windows: str) -> Outcome:
    return attempt(lambda: parse_cancellation_policy(windows))


@when(
    parsers.re(r"the customer cancels (?P<time_before>.+) before the start"),
    target_fixture="outcome",
)
def customer_cancels_before_start(
    cancellation_policy: CancellationPolicy, booking: Booking | None, time_before: str
) -> Outcome:
    def cancel() -> Cancellation:
        cancelled_at = STARTS_AT - parse_duration(time_before)
        percent = cancellation_policy.refund_percent(STARTS_AT, cancelled_at)
        if booking is None:
            return Cancellation(None, percent)
        assert booking.starts_at == STARTS_AT
        return customer_cancels(booking, percent)

    return attempt(cancel)


@when(
    parsers.re(r"the customer cancels in a window that refunds (?P<percent>\d+%)"),
    target_fixture="outcome",
)
def customer_cancels_in_window(booking: Booking, percent: str) -> Outcome:
    return attempt(lambda: customer_cancels(booking, parse_percent(percent)))


@when("the tenant cancels", target_fixture="outcome")
def tenant_cancels(booking: Booking) -> Outcome:
    def cancel() -> Cancellation:
        split = tenant_cancellation_refund(
            booking.quote, booking.refund_on_cancel, already=booking.refunded
        )
        cancelled = record(booking.cancel(CancelledBy.TENANT), split, "re_cancel")
        return Cancellation(cancelled, 100, split)

    return attempt(cancel)


@when(parsers.re(r'the tenant refunds "(?P<refunds>.+)"'), target_fixture="outcome")
def tenant_refunds(booking: Booking, refunds: str) -> Outcome:
    """Refunds one after the other; a refused one stops the rest, keeping the earlier ones."""
    current, split = booking, None
    for number, amount in enumerate(refunds.split(","), start=1):
        try:
            split = partial_refund(
                current.quote, parse_money(amount), current.refund_on_cancel, current.refunded
            )
            current = current.record_refund(f"re_{number}", split)
        except DomainError as error:
            return Outcome(value=Cancellation(current, split=split), error=error)
    return Outcome(value=Cancellation(current, split=split))


# --- Then ----------------------------------------------------------------------------


@then(parsers.re(r"they are entitled to (?P<percent>\d+%) of their payment"))
def entitled_to(outcome: Outcome, percent: str) -> None:
    assert outcome.result().refund_percent == parse_percent(percent)


@then(parsers.re(r"the customer gets back (?P<amount>.+)"))
def customer_gets_back(outcome: Outcome, amount: str) -> None:
    assert_money(_split(outcome).customer_refund, amount, "customer refund")


@then(parsers.re(r"the platform gives back (?P<amount>.+) of its fee"))
def platform_gives_back(outcome: Outcome, amount: str) -> None:
    split = _split(outcome)
    assert_money(split.application_fee_refund, amount, "fee refunded")
    assert split.application_fee_refund <= _booking(outcome).quote.application_fee


@then(parsers.re(r"the tenant gives back (?P<amount>.+)"))
def tenant_gives_back(outcome: Outcome, amount: str) -> None:
    assert_money(_split(outcome).tenant_share, amount, "tenant gives back")


@then("the booking is cancelled")
def booking_is_cancelled(outcome: Outcome) -> None:
    assert _booking(outcome).status is BookingStatus.CANCELLED


@then("nothing more can be refunded")
def nothing_more_refundable(outcome: Outcome) -> None:
    assert _booking(outcome).refundable.is_zero


@then(parsers.re(r"the customer has got back (?P<amount>.+) in total"))
def customer_got_back_in_total(outcome: Outcome, amount: str) -> None:
    booking = _booking(outcome)
    assert_money(booking.refunded.customer_refund, amount, "refunded in total")
    assert booking.refunded.customer_refund <= booking.quote.customer_total


@then(parsers.re(r"the platform has given back (?P<amount>.+) of its fee in total"))
def platform_gave_back_in_total(outcome: Outcome, amount: str) -> None:
    booking = _booking(outcome)
    assert_money(booking.refunded.application_fee_refund, amount, "fee refunded in total")
    assert booking.refunded.application_fee_refund <= booking.quote.application_fee


@then(parsers.re(r"(?P<amount>.+) can still be refunded"))
def still_refundable(outcome: Outcome, amount: str) -> None:
    # Read the state even after a refusal: the refunds before it stand.
    assert outcome.value.booking is not None
    assert_money(outcome.value.booking.refundable, amount, "still refundable")
