"""Seat holds: their length follows Stripe's Checkout Session lifetime, and they lapse at
their expiry, not a moment later."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidHold, NaiveDatetime, TooManyPendingHolds
from domain.hold import (
    MAX_HOLD,
    MAX_PENDING_HOLDS_PER_CUSTOMER,
    MIN_HOLD,
    SESSION_CLOCK_SLACK,
    SESSION_LIFETIME_MAX,
    SESSION_LIFETIME_MIN,
    ensure_customer_may_hold_more,
    hold_expiry,
    hold_lapsed,
    session_expiry,
    session_lifetime_allowed,
)

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def test_stripe_takes_sessions_of_30_minutes_to_24_hours() -> None:
    assert (
        timedelta(minutes=30),
        timedelta(hours=24),
    ) == (SESSION_LIFETIME_MIN, SESSION_LIFETIME_MAX)
    assert session_lifetime_allowed(SESSION_LIFETIME_MIN)
    assert session_lifetime_allowed(SESSION_LIFETIME_MAX)
    assert not session_lifetime_allowed(SESSION_LIFETIME_MIN - TICK)
    assert not session_lifetime_allowed(SESSION_LIFETIME_MAX + TICK)


@pytest.mark.parametrize("hold", [MIN_HOLD, timedelta(hours=2), MAX_HOLD])
def test_a_hold_lasts_as_long_as_a_checkout_session_can(hold: timedelta) -> None:
    assert hold_expiry(NOW, hold) == NOW + hold


@pytest.mark.parametrize("hold", [timedelta(0), MIN_HOLD - TICK, MAX_HOLD + TICK])
def test_a_hold_outside_stripes_session_lifetime_is_refused(hold: timedelta) -> None:
    with pytest.raises(InvalidHold):
        hold_expiry(NOW, hold)


def test_a_hold_needs_an_aware_time() -> None:
    with pytest.raises(NaiveDatetime):
        hold_expiry(datetime(2026, 3, 1, 10, 0), MIN_HOLD)  # noqa: DTZ001


def test_a_hold_lapses_at_its_expiry_and_not_before() -> None:
    ends = NOW + MIN_HOLD
    assert not hold_lapsed(ends, ends - TICK)
    assert hold_lapsed(ends, ends)
    assert hold_lapsed(ends, ends + TICK)


def test_the_lapse_compares_instants_not_wall_clocks() -> None:
    ends = NOW + MIN_HOLD
    berlin = ends.astimezone(ZoneInfo("Europe/Berlin"))
    assert hold_lapsed(ends, berlin)
    assert not hold_lapsed(ends, berlin - TICK)


def test_a_session_ends_with_its_hold_when_stripe_can_take_that() -> None:
    assert session_expiry(NOW + timedelta(hours=2), NOW) == NOW + timedelta(hours=2)
    assert session_expiry(NOW + MAX_HOLD, NOW) == NOW + MAX_HOLD


def test_a_session_for_the_shortest_hold_gets_slack_for_stripes_clock() -> None:
    shortest = NOW + SESSION_LIFETIME_MIN + SESSION_CLOCK_SLACK
    assert session_expiry(NOW + MIN_HOLD, NOW) == shortest
    # Opened a little after the hold was taken (the first attempt failed): still valid.
    later = NOW + timedelta(minutes=5)
    assert (
        session_expiry(NOW + MIN_HOLD, later) == later + SESSION_LIFETIME_MIN + SESSION_CLOCK_SLACK
    )
    assert session_lifetime_allowed(session_expiry(NOW + MIN_HOLD, later) - later)


def test_a_customer_may_keep_only_so_many_unpaid_holds() -> None:
    ensure_customer_may_hold_more(MAX_PENDING_HOLDS_PER_CUSTOMER - 1)
    with pytest.raises(TooManyPendingHolds):
        ensure_customer_may_hold_more(MAX_PENDING_HOLDS_PER_CUSTOMER)
