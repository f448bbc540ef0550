"""Seat holds: how long an unpaid checkout keeps its seats, and when that time is over.

A hold ends with the Stripe Checkout Session it was taken for, so its length obeys the
session's: Stripe takes an `expires_at` from 30 minutes to 24 hours after it creates the
session ("It can be anywhere from 30 minutes to 24 hours after Checkout Session creation",
https://docs.stripe.com/api/checkout/sessions/create#create_checkout_session-expires_at;
also https://docs.stripe.com/payments/checkout/managing-limited-inventory).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.clock import as_utc
from domain.errors import InvalidHold, StartsTooSoonToCheckOut, TooManyPendingHolds

SESSION_LIFETIME_MIN = timedelta(minutes=30)
SESSION_LIFETIME_MAX = timedelta(hours=24)
# A hold lasts as long as a session may: no shorter (Stripe would refuse the session) and
# no longer (the session would end first and the seats stay held for nobody).
MIN_HOLD = SESSION_LIFETIME_MIN
MAX_HOLD = SESSION_LIFETIME_MAX
# Stripe measures the 30 minutes by its own clock, from when it creates the session, which
# is a little after the hold was taken: a session for a hold of exactly 30 minutes ends a
# little later than the hold. A payment in between is a late completion, confirmed or
# refunded like any other.
SESSION_CLOCK_SLACK = timedelta(minutes=1)

# A checkout must be able to end before the slot starts: its session lasts at least
# SESSION_LIFETIME_MIN (by Stripe's clock, hence the slack), so a slot starting sooner than
# that cannot be sold through a hosted checkout at all. Otherwise a customer could pay
# after the start, when no cancellation window is open any more.
LAST_CHECKOUT_BEFORE_START = SESSION_LIFETIME_MIN + SESSION_CLOCK_SLACK

# Vouchers (Boleto, Konbini, OXXO) can be paid for this many days after checkout: the
# Checkout Session says so in its payment method options.
VOUCHER_DAYS = 3
# A delayed payment holds its seats until the voucher's last day has ended everywhere.
ASYNC_PAYMENT_HOLD = timedelta(days=VOUCHER_DAYS + 1)

# Unpaid holds one customer (by email) may keep at one tenant at once, so that nobody ties
# up a tenant's slots with checkouts they never pay.
MAX_PENDING_HOLDS_PER_CUSTOMER = 5


def session_lifetime_allowed(lifetime: timedelta) -> bool:
    """Whether Stripe takes a Checkout Session that ends `lifetime` after its creation
    (30 minutes to 24 hours, both included)."""
    return SESSION_LIFETIME_MIN <= lifetime <= SESSION_LIFETIME_MAX


def require_hold(hold: timedelta) -> timedelta:
    """`hold` when a Checkout Session can last as long (30 minutes to 24 hours), else
    InvalidHold."""
    if not session_lifetime_allowed(hold):
        raise InvalidHold(f"a hold must last between 30 minutes and 24 hours, not {hold}")
    return hold


def ensure_checkout_ends_before_start(starts_at: datetime, now: datetime) -> None:
    """StartsTooSoonToCheckOut when a Checkout Session opened at `now` could still be paid
    after `starts_at` (Stripe's shortest session, SESSION_LIFETIME_MIN, plus clock slack)."""
    if as_utc(starts_at) - as_utc(now) < LAST_CHECKOUT_BEFORE_START:
        raise StartsTooSoonToCheckOut(as_utc(starts_at), LAST_CHECKOUT_BEFORE_START)


def hold_expiry(now: datetime, hold: timedelta, starts_at: datetime | None = None) -> datetime:
    """When a hold of length `hold` taken at `now` ends (UTC): never after the slot's
    `starts_at`, so its Checkout Session cannot be paid once the slot started. InvalidHold
    outside a Checkout Session's lifetime; StartsTooSoonToCheckOut when the slot starts
    sooner than the shortest session (ensure_checkout_ends_before_start)."""
    ends = as_utc(now) + require_hold(hold)
    if starts_at is None:
        return ends
    ensure_checkout_ends_before_start(starts_at, now)
    return min(ends, as_utc(starts_at))


def session_expiry(hold_expires_at: datetime, now: datetime) -> datetime:
    """The `expires_at` to open a hold's Checkout Session with at `now`: the hold's end,
    unless Stripe could find that too soon by its own clock (then SESSION_CLOCK_SLACK past
    its minimum)."""
    return max(as_utc(hold_expires_at), as_utc(now) + SESSION_LIFETIME_MIN + SESSION_CLOCK_SLACK)


def hold_lapsed(hold_expires_at: datetime, now: datetime) -> bool:
    """Whether a hold ending at `hold_expires_at` has lapsed at `now`: from that very
    instant on (a hold is over when its time is up, not a moment later)."""
    return as_utc(now) >= as_utc(hold_expires_at)


def async_payment_deadline(session_ends: datetime, starts_at: datetime) -> datetime:
    """When the hold of a delayed payment ends: a voucher's days after its checkout (which
    completed before `session_ends`), and never after the slot starts."""
    return min(as_utc(session_ends) + ASYNC_PAYMENT_HOLD, as_utc(starts_at))


def ensure_customer_may_hold_more(pending_holds: int) -> None:
    """TooManyPendingHolds when `pending_holds` already reaches the cap."""
    if pending_holds >= MAX_PENDING_HOLDS_PER_CUSTOMER:
        raise TooManyPendingHolds(pending_holds, MAX_PENDING_HOLDS_PER_CUSTOMER)
