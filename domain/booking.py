"""Bookings and their state machine.

    pending_payment ──paid──▶ confirmed ──cancel──▶ cancelled
      │   │  └─unpaid─▶ awaiting_async_payment ──paid──▶ confirmed
      │   │                 └──failed──▶ payment_failed
      │   └─failed──▶ payment_failed
      └─hold lapsed─▶ expired ──paid late (seats free again)──▶ confirmed
    confirmed ──refund──▶ refunded (partially or fully; more refunds may follow)

Every transition is idempotent: applying a fact the booking already reflects returns the
booking unchanged (the same object). A fact that contradicts the booking's state raises
IllegalTransition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.cancellation import RefundSplit
from domain.clock import as_utc
from domain.errors import (
    IllegalTransition,
    InvalidHold,
    InvalidRefund,
    RefundExceedsPaid,
    TooManyPendingHolds,
)
from domain.fees import FeeQuote, RefundOnCancel
from domain.money import Money
from domain.offering import require_seats


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    AWAITING_ASYNC_PAYMENT = "awaiting_async_payment"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    PAYMENT_FAILED = "payment_failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


# Stripe lets a Checkout Session live between 30 minutes and 24 hours; the hold matches it.
MIN_HOLD = timedelta(minutes=30)
MAX_HOLD = timedelta(hours=24)


def hold_expiry(now: datetime, hold: timedelta) -> datetime:
    """When a hold taken at `now` ends; refused outside Stripe's session lifetime."""
    if not MIN_HOLD <= hold <= MAX_HOLD:
        raise InvalidHold(f"a hold must last between 30 minutes and 24 hours, not {hold}")
    return as_utc(now) + hold


class SeatState(StrEnum):
    """What a booking in a status does to its slot's seats."""

    HELD = "held"
    BOOKED = "booked"
    RELEASED = "released"


_SEATS = {
    BookingStatus.PENDING_PAYMENT: SeatState.HELD,
    BookingStatus.AWAITING_ASYNC_PAYMENT: SeatState.HELD,
    BookingStatus.CONFIRMED: SeatState.BOOKED,
    BookingStatus.REFUNDED: SeatState.BOOKED,
    BookingStatus.EXPIRED: SeatState.RELEASED,
    BookingStatus.PAYMENT_FAILED: SeatState.RELEASED,
    BookingStatus.CANCELLED: SeatState.RELEASED,
}

_PAID = frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.REFUNDED})


class CancelledBy(StrEnum):
    CUSTOMER = "customer"
    TENANT = "tenant"
    SYSTEM = "system"  # e.g. a payment that arrived after its seats were sold again


@dataclass(frozen=True, slots=True)
class Customer:
    email: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund of a booking's payment, as recorded with the gateway.

    A pending refund is reserved before the gateway is asked, under Bookpay's own id, so
    that concurrent refunds cannot together pass what was paid; it is settled under the
    gateway's refund id once the gateway answered.
    """

    refund_id: str
    split: RefundSplit
    pending: bool = False


@dataclass(frozen=True, slots=True)
class Booking:
    id: str
    tenant_id: str
    offering_id: str
    slot_id: str
    seats: int
    starts_at: datetime
    customer: Customer
    quote: FeeQuote
    refund_on_cancel: RefundOnCancel
    hold_expires_at: datetime
    created_at: datetime
    status: BookingStatus = BookingStatus.PENDING_PAYMENT
    gateway_session_id: str | None = None
    payment_intent_id: str | None = None
    refunds: tuple[Refund, ...] = ()
    cancelled_by: CancelledBy | None = None
    cancellation_reason: str | None = None
    # The customer's link to the booking carries a secret token; only its hash is kept.
    access_token_hash: str | None = None

    def __post_init__(self) -> None:
        require_seats(self.seats)
        object.__setattr__(self, "starts_at", as_utc(self.starts_at))
        object.__setattr__(self, "hold_expires_at", as_utc(self.hold_expires_at))
        object.__setattr__(self, "created_at", as_utc(self.created_at))

    # --- derived facts -----------------------------------------------------------------

    @property
    def currency(self) -> str:
        return self.quote.currency

    @property
    def seat_state(self) -> SeatState:
        return _SEATS[self.status]

    @property
    def is_paid(self) -> bool:
        return self.status in _PAID

    @property
    def refunded(self) -> RefundSplit:
        total = RefundSplit.nothing(self.currency)
        for refund in self.refunds:
            total = total + refund.split
        return total

    @property
    def refundable(self) -> Money:
        """What can still be refunded: never more than the customer paid."""
        if not self.is_paid:
            return Money.zero(self.currency)
        return self.quote.customer_total - self.refunded.customer_refund

    def hold_lapsed(self, now: datetime) -> bool:
        return as_utc(now) >= self.hold_expires_at

    # --- transitions -------------------------------------------------------------------

    def attach_session(self, session_id: str) -> Booking:
        if self.gateway_session_id == session_id:
            return self
        if self.gateway_session_id is not None or self.status is not BookingStatus.PENDING_PAYMENT:
            raise IllegalTransition(self.id, self.status, "attach another checkout session")
        return replace(self, gateway_session_id=session_id)

    def await_async_payment(self) -> Booking:
        """The customer completed checkout with a delayed method; seats stay held."""
        if self.status is BookingStatus.PENDING_PAYMENT:
            return replace(self, status=BookingStatus.AWAITING_ASYNC_PAYMENT)
        if self.status is BookingStatus.AWAITING_ASYNC_PAYMENT or self.is_paid:
            return self
        raise IllegalTransition(self.id, self.status, "wait for a delayed payment")

    def confirm(self, payment_intent_id: str | None = None) -> Booking:
        """The payment succeeded. From `expired` this is a late payment: the caller must
        have booked the seats again first, or refund instead."""
        if self.is_paid:
            return self
        if self.status in (
            BookingStatus.PENDING_PAYMENT,
            BookingStatus.AWAITING_ASYNC_PAYMENT,
            BookingStatus.EXPIRED,
        ):
            return replace(
                self,
                status=BookingStatus.CONFIRMED,
                payment_intent_id=payment_intent_id or self.payment_intent_id,
            )
        raise IllegalTransition(self.id, self.status, "confirm a payment")

    def fail_payment(self) -> Booking:
        if self.status is BookingStatus.PAYMENT_FAILED:
            return self
        if self.status in (BookingStatus.PENDING_PAYMENT, BookingStatus.AWAITING_ASYNC_PAYMENT):
            return replace(self, status=BookingStatus.PAYMENT_FAILED)
        raise IllegalTransition(self.id, self.status, "fail a payment")

    def expire(self) -> Booking:
        """The hold lapsed unpaid: the seats go back on sale."""
        if self.status is BookingStatus.EXPIRED:
            return self
        if self.status is BookingStatus.PENDING_PAYMENT:
            return replace(self, status=BookingStatus.EXPIRED)
        raise IllegalTransition(self.id, self.status, "expire")

    def cancel(self, by: CancelledBy, reason: str | None = None) -> Booking:
        if self.status is BookingStatus.CANCELLED:
            return self
        if self.status in (BookingStatus.CONFIRMED, BookingStatus.REFUNDED):
            return replace(
                self, status=BookingStatus.CANCELLED, cancelled_by=by, cancellation_reason=reason
            )
        raise IllegalTransition(self.id, self.status, "cancel")

    def record_refund(self, refund_id: str, split: RefundSplit) -> Booking:
        """Record a refund once (by its gateway id); the sum never exceeds what was paid."""
        if self._refund(refund_id) is not None:
            return self
        self._check_refund(split)
        return replace(
            self,
            status=self._status_after_refund,
            refunds=(*self.refunds, Refund(refund_id, split)),
        )

    def reserve_refund(self, reservation_id: str, split: RefundSplit) -> Booking:
        """Hold a refund against what is still refundable, before the gateway is asked."""
        if self._refund(reservation_id) is not None:
            return self
        self._check_refund(split)
        reserved = Refund(reservation_id, split, pending=True)
        return replace(self, refunds=(*self.refunds, reserved))

    def settle_refund(self, reservation_id: str, refund_id: str) -> Booking:
        """The gateway made the reserved refund: it is now known by the gateway's id."""
        reserved = self._refund(reservation_id)
        if reserved is None or not reserved.pending:
            if self._refund(refund_id) is not None:
                return self
            raise InvalidRefund(f"no refund of booking {self.id} is reserved as {reservation_id}")
        if self._refund(refund_id) is not None:  # already recorded under the gateway's id
            kept = tuple(r for r in self.refunds if r is not reserved)
        else:
            kept = tuple(Refund(refund_id, r.split) if r is reserved else r for r in self.refunds)
        return replace(self, status=self._status_after_refund, refunds=kept)

    def release_refund(self, reservation_id: str) -> Booking:
        """The gateway refused the reserved refund: nothing went back, nothing is held."""
        reserved = self._refund(reservation_id)
        if reserved is None or not reserved.pending:
            return self
        return replace(self, refunds=tuple(r for r in self.refunds if r is not reserved))

    def _refund(self, refund_id: str) -> Refund | None:
        return next((r for r in self.refunds if r.refund_id == refund_id), None)

    @property
    def _status_after_refund(self) -> BookingStatus:
        if self.status is BookingStatus.CANCELLED:
            return BookingStatus.CANCELLED
        return BookingStatus.REFUNDED

    def _check_refund(self, split: RefundSplit) -> None:
        if not self.is_paid:
            raise IllegalTransition(self.id, self.status, "refund an unpaid booking")
        if split.customer_refund.currency != self.currency:
            raise InvalidRefund(f"refund in {split.customer_refund.currency} for {self.currency}")
        if split.customer_refund.amount <= 0:
            raise InvalidRefund("a refund must be a positive amount")
        if split.customer_refund > self.refundable:
            raise RefundExceedsPaid(
                split.customer_refund.amount, self.refundable.amount, self.currency
            )
        fee_left = self.quote.application_fee - self.refunded.application_fee_refund
        if split.application_fee_refund > fee_left or split.application_fee_refund.is_negative:
            raise InvalidRefund("the fee refund exceeds the fee still held by the platform")


# Unpaid holds one customer (by email) may keep at one tenant at once, so that nobody ties
# up a tenant's slots with checkouts they never pay.
MAX_PENDING_HOLDS_PER_CUSTOMER = 5


def ensure_customer_may_hold_more(pending_holds: int) -> None:
    """TooManyPendingHolds when `pending_holds` already reaches the cap."""
    if pending_holds >= MAX_PENDING_HOLDS_PER_CUSTOMER:
        raise TooManyPendingHolds(pending_holds, MAX_PENDING_HOLDS_PER_CUSTOMER)
