"""Cancellation policies, and how much of a payment goes back to whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from domain.clock import as_utc
from domain.errors import (
    CancellationWindowClosed,
    InvalidCancellationPolicy,
    InvalidRefund,
    RefundExceedsPaid,
)
from domain.fee_quote import FeeQuote
from domain.fees import RefundOnCancel
from domain.money import Money, round_half_up

# The earliest a window may open: a year (a leap one) before the start.
MAX_WINDOW_HOURS = 24 * 366


@dataclass(frozen=True, slots=True)
class CancellationWindow:
    """Cancelled at least `hours_before` hours before the start → `refund_percent` % back."""

    hours_before: int
    refund_percent: int


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    """Ordered windows; the widest window that still applies wins.

    With no windows the customer may cancel up to the start with a full refund.
    """

    windows: tuple[CancellationWindow, ...] = ()

    def __post_init__(self) -> None:
        seen: set[int] = set()
        for window in self.windows:
            if not _whole_between(window.hours_before, 0, MAX_WINDOW_HOURS):
                raise InvalidCancellationPolicy(
                    f"hours_before must be a whole number from 0 to {MAX_WINDOW_HOURS}"
                )
            if not _whole_between(window.refund_percent, 0, 100):
                raise InvalidCancellationPolicy("refund_percent must be between 0 and 100")
            if window.hours_before in seen:
                raise InvalidCancellationPolicy(
                    f"two windows both start {window.hours_before} hours before"
                )
            seen.add(window.hours_before)
        ordered = tuple(sorted(self.windows, key=lambda w: w.hours_before, reverse=True))
        object.__setattr__(self, "windows", ordered)

    def refund_percent(self, starts_at: datetime, cancelled_at: datetime) -> int:
        """The refund percentage a customer cancelling at `cancelled_at` gets."""
        time_left = as_utc(starts_at) - as_utc(cancelled_at)
        if not self.windows:
            if time_left <= timedelta(0):
                raise CancellationWindowClosed(time_left / timedelta(hours=1))
            return 100
        for window in self.windows:  # widest first
            if time_left >= timedelta(hours=window.hours_before):
                return window.refund_percent
        raise CancellationWindowClosed(time_left / timedelta(hours=1))


def _whole_between(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True, slots=True)
class RefundSplit:
    """A refund to the customer, and which part of it the platform's fee gives back;
    the tenant gives back the rest (`tenant_share`)."""

    customer_refund: Money
    application_fee_refund: Money

    @property
    def tenant_share(self) -> Money:
        """What the tenant gives back of the refund: all of it but the platform's part."""
        return self.customer_refund - self.application_fee_refund

    @property
    def is_empty(self) -> bool:
        return self.customer_refund.is_zero

    @classmethod
    def nothing(cls, currency: str) -> RefundSplit:
        return cls(Money.zero(currency), Money.zero(currency))

    def __add__(self, other: RefundSplit) -> RefundSplit:
        return RefundSplit(
            self.customer_refund + other.customer_refund,
            self.application_fee_refund + other.application_fee_refund,
        )


def customer_cancellation_refund(
    quote: FeeQuote,
    refund_percent: int,
    refund_on_cancel: RefundOnCancel,
    already: RefundSplit | None = None,
) -> RefundSplit:
    """What a customer cancelling under a policy window gets back (less earlier refunds).

    proportional: P % of everything they paid, and the same share of the platform's fee.
    never: the fee is non-refundable; the customer gets P % of the subtotal only.
    """
    if not 0 <= refund_percent <= 100:
        raise InvalidRefund("refund percent must be between 0 and 100")
    already = already or RefundSplit.nothing(quote.currency)
    share = Fraction(refund_percent, 100)
    base = (
        quote.customer_total if refund_on_cancel is RefundOnCancel.PROPORTIONAL else quote.subtotal
    )
    target = _share_of(base, share)
    amount = max(target.amount - already.customer_refund.amount, 0)
    return _split(quote, Money(amount, quote.currency), refund_on_cancel, already)


def tenant_cancellation_refund(
    quote: FeeQuote, refund_on_cancel: RefundOnCancel, already: RefundSplit | None = None
) -> RefundSplit:
    """A tenant's cancellation gives the customer everything back that is not back yet.

    With a non-refundable fee the platform keeps its fee and the tenant's share pays for it.
    """
    already = already or RefundSplit.nothing(quote.currency)
    remaining = quote.customer_total - already.customer_refund
    return _split(quote, remaining, refund_on_cancel, already)


def partial_refund(
    quote: FeeQuote,
    amount: Money,
    refund_on_cancel: RefundOnCancel,
    already: RefundSplit | None = None,
) -> RefundSplit:
    """A refund of `amount`; with a proportional policy the fee comes back pro rata."""
    if amount.currency != quote.currency:
        raise InvalidRefund(f"refund in {amount.currency} for a payment in {quote.currency}")
    if amount.amount <= 0:
        raise InvalidRefund("a refund must be a positive amount")
    if not amount.is_chargeable_step():
        raise InvalidRefund(
            f"{amount.currency} refunds must be multiples of {amount.granularity} minor units"
        )
    already = already or RefundSplit.nothing(quote.currency)
    refundable = quote.customer_total - already.customer_refund
    if amount > refundable:
        raise RefundExceedsPaid(amount.amount, refundable.amount, amount.currency)
    return _split(quote, amount, refund_on_cancel, already)


def _split(
    quote: FeeQuote, amount: Money, refund_on_cancel: RefundOnCancel, already: RefundSplit
) -> RefundSplit:
    """Split a refund so that the fee given back with it is the one Stripe gives back with
    `refund_application_fee` (see `stripe_fee_refund`): never more than the fee, and a
    refund that empties the charge returns all that is left of it."""
    if refund_on_cancel is RefundOnCancel.NEVER or quote.customer_total.is_zero:
        return RefundSplit(amount, Money.zero(quote.currency))
    fee_back = stripe_fee_refund(
        quote.application_fee,
        quote.application_fee - already.application_fee_refund,
        quote.customer_total,
        already.customer_refund,
        amount,
    )
    return RefundSplit(amount, min(fee_back, amount))


def stripe_fee_refund(
    fee: Money, fee_left: Money, charged: Money, refunded_before: Money, amount: Money
) -> Money:
    """The application fee Stripe gives back with a refund of `amount` made with
    `refund_application_fee`, after `refunded_before` of the `charged` amount went back and
    `fee_left` of the `fee` is still unrefunded.

    Stripe's API reference (parameter `refund_application_fee` of POST /v1/refunds,
    ../shared/stripe/openapi-spec3.json, API version 2023-08-16; changelog 2013-12-03
    "Application fee refunds are now proportional to the charged amount"): "If a full
    charge refund is given, the full application fee will be refunded. Otherwise, the
    application fee will be refunded in an amount proportional to the amount of the charge
    refunded." So each refund is rounded on its own (fee × amount / charged), not on running
    totals, and the refund that empties the charge gives back all that is left of the fee.
    Stripe does not document the rounding: half-up to the currency's granularity here, as
    its refunds of its own processing fee round half-up per refund (api-discuss, 2013), and
    never more than is left of the fee.
    """
    left = max(fee_left.amount, 0)
    if refunded_before + amount >= charged:
        return Money(left, fee.currency)
    share = Fraction(fee.amount * amount.amount, charged.amount)
    return Money(min(round_half_up(share, fee.granularity), left), fee.currency)


def _share_of(money: Money, share: Fraction) -> Money:
    step = money.granularity
    return Money(round_half_up(round_half_up(money.amount * share), step), money.currency)
