"""Hypothesis strategies and settings shared by the fee and refund property tests."""

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from hypothesis import assume, settings
from hypothesis import strategies as st

from domain.booking import Booking, Customer
from domain.errors import BelowMinimumCharge
from domain.fee_quote import FeeQuote
from domain.fees import FeeBearer, FeePolicy, RefundOnCancel, Tier, TierMode
from domain.money import Money, exponent, granularity

# Two-decimal, zero-decimal and three-decimal currencies, and ISK (whole krónur only).
CURRENCIES = ("usd", "eur", "gbp", "chf", "jpy", "krw", "clp", "kwd", "bhd", "isk")


CREATED_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


# Modest by default so the domain suite runs in seconds; raise it for a deep search:
# BOOKPAY_HYPOTHESIS_EXAMPLES=5000 pytest tests/unit -k properties
EXAMPLES = int(os.environ.get("BOOKPAY_HYPOTHESIS_EXAMPLES", "40"))


PROPERTY = settings(max_examples=EXAMPLES, deadline=None)


QUICK = settings(max_examples=max(EXAMPLES // 2, 1), deadline=None)


# The strategies below are made once per argument (functools.cache) and drawn from many
# times: a strategy made anew inside every draw had Hypothesis work out its properties
# again each time, which cost more than the tests' own checks.


@cache
def money(currency: str, max_major: int, min_major_units: int = 0) -> st.SearchStrategy[Money]:
    """Amounts up to `max_major` whole units, always a step Stripe accepts."""
    step = granularity(currency)
    top = max_major * 10 ** exponent(currency) // step
    return st.integers(min_major_units, top).map(lambda steps: Money(steps * step, currency))


@cache
def optional(strategy: st.SearchStrategy[Money]) -> st.SearchStrategy[Money | None]:
    return st.one_of(st.none(), strategy)


basis_points = st.one_of(st.integers(0, 3_000), st.integers(0, 10_000), st.just(0))


bearers = st.one_of(
    st.just(FeeBearer.customer()),
    st.just(FeeBearer.tenant()),
    st.integers(0, 10_000).map(FeeBearer.split),
)


@cache
@st.composite
def tier_tables(draw: st.DrawFn, currency: str) -> tuple[Tier, ...]:
    bounds = sorted({m.amount for m in draw(st.lists(money(currency, 1_000, 1), max_size=4))})
    open_ended = draw(st.booleans())
    ups: list[Money | None] = [Money(b, currency) for b in bounds]
    if open_ended or not ups:
        ups.append(None)
    return tuple(
        Tier(up_to=up, percent_bps=draw(basis_points), fixed=draw(optional(money(currency, 5))))
        for up in ups
    )


@cache
@st.composite
def fee_policies(draw: st.DrawFn, currency: str) -> FeePolicy:
    minimum, maximum = draw(optional(money(currency, 10))), draw(optional(money(currency, 50)))
    if minimum is not None and maximum is not None and minimum > maximum:
        minimum, maximum = maximum, minimum
    return FeePolicy(
        percent_bps=draw(basis_points),
        fixed=draw(optional(money(currency, 5))),
        per_seat_fixed=draw(optional(money(currency, 3))),
        tiers=draw(st.one_of(st.just(()), tier_tables(currency))),
        tier_mode=draw(st.sampled_from(TierMode)),
        minimum=minimum,
        maximum=maximum,
        bearer=draw(bearers),
        refund_on_cancel=draw(st.sampled_from(RefundOnCancel)),
        version=draw(st.integers(1, 50)),
    )


@dataclass(frozen=True)
class Sale:
    policy: FeePolicy
    unit_price: Money
    seats: int


@st.composite
def sales(draw: st.DrawFn, currencies: tuple[str, ...] = CURRENCIES) -> Sale:
    currency = draw(st.sampled_from(currencies))
    return Sale(
        policy=draw(fee_policies(currency)),
        unit_price=draw(money(currency, 500)),
        seats=draw(st.integers(1, 40)),
    )


@st.composite
def quotes(draw: st.DrawFn, currencies: tuple[str, ...] = CURRENCIES) -> tuple[FeeQuote, FeePolicy]:
    """A quote that went through (a charge at or above the minimum), with its policy."""
    sale = draw(sales(currencies))
    try:
        quote = sale.policy.quote(sale.unit_price, sale.seats)
    except BelowMinimumCharge:
        assume(False)
        raise
    return quote, sale.policy


def new_booking(
    quote: FeeQuote, refund_on_cancel: RefundOnCancel, booking_id: str = "bk_1"
) -> Booking:
    """A booking sold with `quote`, waiting for its payment."""
    return Booking(
        id=booking_id,
        tenant_id="tn_1",
        offering_id="of_1",
        slot_id="sl_1",
        seats=quote.seats,
        starts_at=CREATED_AT + timedelta(days=10),
        customer=Customer("ada@example.com"),
        quote=quote,
        refund_on_cancel=refund_on_cancel,
        hold_expires_at=CREATED_AT + timedelta(minutes=30),
        created_at=CREATED_AT,
    )


def paid_booking(
    quote: FeeQuote, refund_on_cancel: RefundOnCancel, booking_id: str = "bk_1"
) -> Booking:
    return new_booking(quote, refund_on_cancel, booking_id).confirm(f"pi_{booking_id}")


def half_up(value: Decimal, step: int = 1) -> int:
    return int((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step
