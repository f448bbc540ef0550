"""What a gateway's report about a booking's payment does: the booking's new state, the
move of its seats, and what must happen next.

The application executes a `Decision`; it never works any of it out itself. Every decision
is idempotent like the transitions it is made of: a fact the booking already reflects
decides "no change".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.booking import Booking, CancelledBy, SeatState
from domain.clock import as_utc
from domain.money import Money
from domain.tenant import Tenant


class SeatMove(StrEnum):
    NONE = "none"
    CONFIRM_HOLD = "confirm_hold"  # held → booked
    BOOK_AGAIN = "book_again"  # released → booked, only if they still fit (a late payment)
    RELEASE_HOLD = "release_hold"  # held → back on sale


class FollowUp(StrEnum):
    """What must happen after the decision is saved, outside its transaction."""

    NONE = "none"
    REFUND_IN_FULL = "refund_in_full"
    # A lost dispute's recovery from the tenant was reserved: send it (domain/dispute.py).
    RECOVER_LOST_DISPUTE = "recover_lost_dispute"


@dataclass(frozen=True, slots=True)
class Decision:
    before: Booking
    booking: Booking
    seats: SeatMove = SeatMove.NONE
    follow_up: FollowUp = FollowUp.NONE

    @property
    def changed(self) -> bool:
        return self.booking is not self.before


_SEAT_MOVES = {
    (SeatState.HELD, SeatState.BOOKED): SeatMove.CONFIRM_HOLD,
    (SeatState.RELEASED, SeatState.BOOKED): SeatMove.BOOK_AGAIN,
    (SeatState.HELD, SeatState.RELEASED): SeatMove.RELEASE_HOLD,
}

PAID_TOO_LATE = "paid after the hold lapsed and the seats were no longer free"
PAID_AFTER_START = "paid after the slot had started"


def _decide(before: Booking, after: Booking) -> Decision:
    return Decision(
        before, after, _SEAT_MOVES.get((before.seat_state, after.seat_state), SeatMove.NONE)
    )


def payment_succeeded(booking: Booking, payment_intent_id: str, now: datetime) -> Decision:
    """The customer paid at `now`. After the hold lapsed (`expired`) the seats must be
    booked again; when they no longer fit, `seats_sold_meanwhile` decides instead.

    A payment that completes once the slot has started is too late to attend: the booking
    is recorded as paid, any seats it held go back, and the decision's follow-up says to
    refund it in full (`seats_sold_meanwhile` with PAID_AFTER_START, once the payment is
    recorded). Checkout refuses slots that start too soon (domain.hold), so this only
    happens when the gateway accepts a payment past the session's end.

    IllegalTransition when the booking's payment already failed."""
    paid = booking.confirm(payment_intent_id)
    if paid is booking or as_utc(now) < booking.starts_at:
        return _decide(booking, paid)
    seats = SeatMove.RELEASE_HOLD if booking.seat_state is SeatState.HELD else SeatMove.NONE
    return Decision(booking, paid, seats, FollowUp.REFUND_IN_FULL)


def seats_sold_meanwhile(paid: Booking, reason: str = PAID_TOO_LATE) -> Decision:
    """A late payment whose seats were sold again (or whose slot had started, `reason`):
    the booking stays paid, is cancelled by the system, and its money goes back in full."""
    cancelled = paid.cancel(CancelledBy.SYSTEM, reason)
    return Decision(paid, cancelled, SeatMove.NONE, FollowUp.REFUND_IN_FULL)


def payment_delayed(booking: Booking) -> Decision:
    """Checkout completed with a delayed method: the seats stay held until it settles."""
    return _decide(booking, booking.await_async_payment())


def payment_failed(booking: Booking) -> Decision:
    """The delayed payment failed: the held seats go back on sale."""
    return _decide(booking, booking.fail_payment())


def checkout_expired(booking: Booking) -> Decision:
    """The checkout lapsed unpaid: the held seats go back on sale."""
    return _decide(booking, booking.expire())


def contradiction(
    booking: Booking, tenant: Tenant, account_id: str | None, amount_total: Money | None
) -> str | None:
    """Why a report about the booking's checkout cannot be taken on its word, or None.

    A signature proves who sent it, not what it says: the report must come from the account
    the booking's charge lives on (`account_id`, None for the platform) and charge exactly
    what the booking costs (`amount_total`, its currency included).
    """
    foreign = foreign_account(tenant, account_id)
    if foreign is not None:
        return foreign
    if amount_total != booking.quote.customer_total:
        charged = "no amount" if amount_total is None else _shown(amount_total)
        return f"it charges {charged}, not {_shown(booking.quote.customer_total)}"
    return None


def foreign_account(tenant: Tenant, account_id: str | None) -> str | None:
    """Why a report about one of the tenant's charges comes from the wrong account, or
    None: it must name the account the charge lives on (None for the platform's own)."""
    if account_id == tenant.charge_account_id:
        return None
    expected = tenant.charge_account_id or "the platform"
    return f"it is about account {account_id or 'the platform'}, not {expected}"


# How far ahead of our clock a gateway's report may be dated: Stripe's own tolerance for a
# signature's timestamp (stripe.Webhook.DEFAULT_TOLERANCE, 300 s), as clock skew.
CLOCK_SKEW = timedelta(seconds=300)


def dated_ahead(created_at: datetime, now: datetime) -> str | None:
    """Why a report dated `created_at` cannot be believed at `now`, or None.

    Snapshots (accounts, disputes) are ordered by their report's date, so one dated ahead
    of every real report would outrank what the gateway says later, reconciliation
    included: a date beyond the clock skew is refused.
    """
    if as_utc(created_at) > as_utc(now) + CLOCK_SKEW:
        return f"it is dated {as_utc(created_at).isoformat()}, ahead of now"
    return None


def dated_on_arrival(created_at: datetime, now: datetime) -> datetime:
    """The date a believed report is ordered by: its own, but never after its arrival `now`
    (in whole seconds, as the gateway dates its reports), so that one dated ahead within
    the clock skew cannot outrank the gateway's later reports of the same object."""
    received = as_utc(now).replace(microsecond=0)
    return min(as_utc(created_at), received)


def _shown(money: Money) -> str:
    return f"{money.amount} {money.currency} (minor units)"
