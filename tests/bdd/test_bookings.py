"""Steps for features/bookings.feature: slots, seat holds and the booking state machine."""

import re
from collections.abc import Callable
from datetime import datetime

from pytest_bdd import given, parsers, scenarios, then, when

from domain.booking import Booking, BookingStatus, CancelledBy, PaymentStatus
from domain.cancellation import partial_refund
from domain.fee_quote import FeeQuote
from domain.fees import FeePolicy
from domain.hold import hold_expiry, hold_lapsed
from domain.money import Money
from domain.offering import Slot
from tests.bdd.conftest import (
    Outcome,
    attempt,
    new_booking,
)
from tests.bdd.notation import parse_duration, parse_moment, parse_money, status_name

scenarios("bookings.feature")

STATUS = r"(?P<status>[a-z_ ]+)"


# --- slots ---------------------------------------------------------------------------

MOVEMENTS: dict[str, Callable[[Slot, int], Slot]] = {
    "held": Slot.hold,
    "confirmed": Slot.confirm_hold,
    "released from hold": Slot.release_hold,
    "booked directly": Slot.book,
    "released from booking": Slot.release_booked,
}


@given(
    parsers.re(
        r"a slot with capacity (?P<capacity>\d+), "
        r"(?P<held>\d+) seats held and (?P<booked>\d+) booked"
    ),
    target_fixture="slot",
)
def slot_with_seats(capacity: str, held: str, booked: str) -> Slot:
    return Slot(
        id="sl_1",
        tenant_id="tn_1",
        offering_id="of_1",
        starts_at=datetime.fromisoformat("2026-03-20T18:00:00+00:00"),
        capacity=int(capacity),
        held=int(held),
        booked=int(booked),
    )


@when(
    parsers.re(rf"(?P<seats>\d+) seats? (?:is|are) (?P<movement>{'|'.join(MOVEMENTS)})"),
    target_fixture="outcome",
)
def seats_move(slot: Slot, seats: str, movement: str) -> Outcome:
    return attempt(lambda: MOVEMENTS[movement](slot, int(seats)))


@then(
    parsers.re(
        r"the slot has (?P<held>\d+) seats held, (?P<booked>\d+) booked and (?P<free>\d+) free"
    )
)
def slot_has(outcome: Outcome, held: str, booked: str, free: str) -> None:
    slot = outcome.result()
    assert (slot.held, slot.booked, slot.seats_available) == (int(held), int(booked), int(free))
    assert slot.held + slot.booked <= slot.capacity


@then(parsers.re(r"the slot still has (?P<held>\d+) seats held and (?P<booked>\d+) booked"))
def slot_unchanged(slot: Slot, held: str, booked: str) -> None:
    assert (slot.held, slot.booked) == (int(held), int(booked))


# --- bookings ------------------------------------------------------------------------

EXAMPLE_QUOTE: FeeQuote = FeePolicy(percent_bps=1000).quote(Money(2000, "usd"), 2)


def _refund(booking: Booking, refund_id: str, amount: str) -> Booking:
    split = partial_refund(
        booking.quote, parse_money(amount), booking.refund_on_cancel, already=booking.refunded
    )
    return booking.record_refund(refund_id, split)


# Each fact a booking can receive, as the tables write it, and what it does.
FACTS: dict[str, Callable[..., Booking]] = {
    r"the payment succeeds": lambda b: b.confirm("pi_1"),
    r"the payment fails": lambda b: b.fail_payment(),
    r"checkout completes with a delayed payment method": lambda b: b.await_async_payment(),
    r"the hold lapses": lambda b: b.expire(),
    r"the customer cancels": lambda b: b.cancel(CancelledBy.CUSTOMER),
    r"the tenant cancels": lambda b: b.cancel(CancelledBy.TENANT),
    r"refund (?P<refund_id>\S+) of (?P<amount>.+) is recorded": _refund,
    r"checkout session (?P<session_id>\S+) is attached": lambda b, session_id: b.attach_session(
        session_id
    ),
}
FACT = "|".join(f"(?:{pattern})" for pattern in FACTS)


def apply_fact(booking: Booking, fact: str) -> Booking:
    for pattern, action in FACTS.items():
        match = re.fullmatch(pattern, fact)
        if match:
            return action(booking, **match.groupdict())
    raise ValueError(f"no such fact: {fact!r}")


# A confirmed booking of which 5.00 USD went back: its seats stay booked.
PARTLY_REFUNDED = "partly refunded"


def _seat_status(text: str) -> str:
    return BookingStatus.CONFIRMED.value if text == PARTLY_REFUNDED else status_name(text)


def booking_that_is(status: str) -> Booking:
    pending = new_booking(EXAMPLE_QUOTE)
    confirmed = pending.confirm("pi_1")
    if status == PARTLY_REFUNDED:
        return _refund(confirmed, "re_0", "5.00 USD")
    reach: dict[BookingStatus, Callable[[], Booking]] = {
        BookingStatus.PENDING_PAYMENT: lambda: pending,
        BookingStatus.AWAITING_ASYNC_PAYMENT: pending.await_async_payment,
        BookingStatus.CONFIRMED: lambda: confirmed,
        BookingStatus.EXPIRED: pending.expire,
        BookingStatus.PAYMENT_FAILED: pending.fail_payment,
        BookingStatus.CANCELLED: lambda: confirmed.cancel(CancelledBy.CUSTOMER),
    }
    booking = reach[BookingStatus(status_name(status))]()
    assert booking.status == status_name(status)
    return booking


@given(parsers.re(rf"a booking that is {STATUS}"), target_fixture="booking")
def a_booking_that_is(status: str) -> Booking:
    return booking_that_is(status)


@given(
    parsers.re(r"a booking that is pending payment, held until (?P<moment>.+)"),
    target_fixture="booking",
)
def a_booking_held_until(moment: str) -> Booking:
    return new_booking(EXAMPLE_QUOTE, hold_expires_at=parse_moment(moment))


@when(parsers.re(rf"(?P<fact>{FACT})"), target_fixture="outcome")
def fact_arrives(booking: Booking, fact: str) -> Outcome:
    return attempt(lambda: apply_fact(booking, fact), fact=fact)


@when("the same fact arrives again", target_fixture="outcome")
def same_fact_again(outcome: Outcome) -> Outcome:
    first = outcome.result()
    again = attempt(lambda: apply_fact(first, outcome.detail["fact"]), **outcome.detail)
    return Outcome(value=again.value, error=again.error, previous=first, detail=outcome.detail)


@then(parsers.re(rf"the booking is (?:still )?{STATUS}"))
def booking_is(outcome: Outcome, status: str) -> None:
    booking = outcome.result()
    assert booking.status == _seat_status(status)
    if status == PARTLY_REFUNDED:
        assert booking.payment_status is PaymentStatus.PARTIALLY_REFUNDED


@then(parsers.re(r"its payment is (?P<payment>[a-z ]+)"))
def payment_is(outcome: Outcome, payment: str) -> None:
    assert outcome.result().payment_status == status_name(payment)


@then(parsers.re(r"its seats are (?P<seat_state>held|booked|released)"))
def seats_are(outcome: Outcome, seat_state: str) -> None:
    assert outcome.result().seat_state == seat_state


@then("the second arrival changed nothing")
def second_arrival_changed_nothing(outcome: Outcome) -> None:
    assert outcome.result() is outcome.previous


@then("nothing changed")
def nothing_changed(outcome: Outcome, booking: Booking) -> None:
    assert outcome.result() is booking


@then(parsers.re(rf"the refusal names the status {STATUS}"))
def refusal_names_status(outcome: Outcome, status: str) -> None:
    assert outcome.error is not None
    assert getattr(outcome.error, "status", None) == _seat_status(status)


# --- holds ---------------------------------------------------------------------------


@given(parsers.re(r"the time is (?P<moment>.+)"), target_fixture="now")
def the_time_is(moment: str) -> datetime:
    return parse_moment(moment)


@when(parsers.re(r"seats are held for (?P<duration>.+)"), target_fixture="outcome")
def seats_held_for(now: datetime, duration: str) -> Outcome:
    return attempt(lambda: hold_expiry(now, parse_duration(duration)))


@then(parsers.re(r"the hold expires at (?P<moment>.+)"))
def hold_expires_at(outcome: Outcome, moment: str) -> None:
    assert outcome.result() == parse_moment(moment)


@then(parsers.re(r"at (?P<moment>.+) the hold has (?P<negation>not )?lapsed"))
def hold_has_lapsed(booking: Booking, moment: str, negation: str | None) -> None:
    assert hold_lapsed(booking.hold_expires_at, parse_moment(moment)) is (negation is None)
