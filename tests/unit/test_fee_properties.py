"""Properties of fee quotes and refund splits over random policies, prices and currencies.

The strategies here are shared with the ledger properties.
"""

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.booking import Booking, Customer
from domain.cancellation import (
    RefundSplit,
    customer_cancellation_refund,
    partial_refund,
    tenant_cancellation_refund,
)
from domain.errors import BelowMinimumCharge, RefundExceedsPaid
from domain.fees import BearerKind, FeeBearer, FeePolicy, FeeQuote, RefundOnCancel, Tier, TierMode
from domain.money import Money, exponent, granularity, minimum_charge

# Two-decimal, zero-decimal and three-decimal currencies, and ISK (whole krónur only).
CURRENCIES = ("usd", "eur", "gbp", "chf", "jpy", "krw", "clp", "kwd", "bhd", "isk")

CREATED_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
# Modest by default so the domain suite runs in seconds; raise it for a deep search:
# BOOKPAY_HYPOTHESIS_EXAMPLES=5000 pytest tests/unit -k properties
EXAMPLES = int(os.environ.get("BOOKPAY_HYPOTHESIS_EXAMPLES", "40"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None)
QUICK = settings(max_examples=max(EXAMPLES // 2, 1), deadline=None)


# --- strategies ----------------------------------------------------------------------


def money(currency: str, max_major: int, min_major_units: int = 0) -> st.SearchStrategy[Money]:
    """Amounts up to `max_major` whole units, always a step Stripe accepts."""
    step = granularity(currency)
    top = max_major * 10 ** exponent(currency) // step
    return st.integers(min_major_units, top).map(lambda steps: Money(steps * step, currency))


def optional(strategy: st.SearchStrategy[Money]) -> st.SearchStrategy[Money | None]:
    return st.one_of(st.none(), strategy)


basis_points = st.one_of(st.integers(0, 3_000), st.integers(0, 10_000), st.just(0))
bearers = st.one_of(
    st.just(FeeBearer.customer()),
    st.just(FeeBearer.tenant()),
    st.integers(0, 10_000).map(FeeBearer.split),
)


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


# --- an independent reading of the fee rules, in Decimal -------------------------------


def _half_up(value: Decimal, step: int = 1) -> int:
    return int((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step


def _rate(amount: int, bps: int) -> Decimal:
    return Decimal(amount) * bps / 10_000


def _tiers_fee(policy: FeePolicy, subtotal: int) -> Decimal:
    if not policy.tiers:
        return Decimal(0)
    bounds = [t.up_to.amount if t.up_to else None for t in policy.tiers]
    bounds[-1] = None  # the last tier reaches up without end, in either mode

    def priced(tier: Tier, amount: int) -> Decimal:
        return _rate(amount, tier.percent_bps) + (tier.fixed.amount if tier.fixed else 0)

    if policy.tier_mode is TierMode.VOLUME:
        index = next(i for i, b in enumerate(bounds) if b is None or subtotal <= b)
        return priced(policy.tiers[index], subtotal)
    fee, lower = Decimal(0), 0
    for tier, bound in zip(policy.tiers, bounds, strict=True):
        upper = subtotal if bound is None else min(bound, subtotal)
        if upper > lower:
            fee += priced(tier, upper - lower)
        if bound is not None:
            lower = bound
    return fee


def expected_quote(sale: Sale) -> dict[str, int] | int:
    """The quote's numbers as DESIGN.md states them, or the minimum when it is refused."""
    policy, currency = sale.policy, sale.unit_price.currency
    step = granularity(currency)
    subtotal = sale.unit_price.amount * sale.seats
    with localcontext() as context:
        context.prec = 80
        exact = _rate(subtotal, policy.percent_bps) + _tiers_fee(policy, subtotal)
        exact += policy.fixed.amount if policy.fixed else 0
        exact += policy.per_seat_fixed.amount * sale.seats if policy.per_seat_fixed else 0
        fee = _half_up(Decimal(_half_up(exact)), step)
        if policy.minimum:
            fee = max(fee, policy.minimum.amount)
        if policy.maximum:
            fee = min(fee, policy.maximum.amount)
        share = _half_up(Decimal(_half_up(_rate(fee, policy.bearer.customer_share_bps))), step)
    total = subtotal + share
    if total < minimum_charge(currency):
        return minimum_charge(currency)
    fee = min(fee, total)
    return {
        "subtotal": subtotal,
        "service_fee": fee,
        "customer_fee": share,
        "customer_total": total,
        "application_fee": fee,
        "tenant_receives": total - fee,
    }


# --- quote properties ----------------------------------------------------------------


@PROPERTY
@given(sales())
def test_a_quote_follows_the_fee_rules_exactly(sale: Sale) -> None:
    expected = expected_quote(sale)
    if isinstance(expected, int):
        with pytest.raises(BelowMinimumCharge) as refused:
            sale.policy.quote(sale.unit_price, sale.seats)
        assert refused.value.minimum == expected
        assert refused.value.amount < expected
        return
    quote = sale.policy.quote(sale.unit_price, sale.seats)
    assert {name: getattr(quote, name).amount for name in expected} == expected


@PROPERTY
@given(quotes())
def test_every_quote_balances(quote_and_policy: tuple[FeeQuote, FeePolicy]) -> None:
    quote, policy = quote_and_policy
    assert 0 <= quote.application_fee.amount <= quote.customer_total.amount
    assert quote.customer_total - quote.application_fee == quote.tenant_receives
    assert quote.customer_total == quote.subtotal + quote.customer_fee
    assert quote.application_fee == quote.service_fee
    assert Money.zero(quote.currency) <= quote.customer_fee <= quote.service_fee
    assert quote.customer_total.amount >= minimum_charge(quote.currency)
    step = granularity(quote.currency)
    for name in ("subtotal", "service_fee", "customer_fee", "customer_total", "tenant_receives"):
        amount = getattr(quote, name)
        assert amount.currency == quote.currency
        assert amount.amount % step == 0, f"{name} {amount} is not a multiple of {step}"
    assert quote.fee_policy_version == policy.version
    assert quote.fee_bearer is policy.bearer.kind


@PROPERTY
@given(quotes())
def test_caps_bound_the_fee_unless_the_charge_is_smaller(
    quote_and_policy: tuple[FeeQuote, FeePolicy],
) -> None:
    quote, policy = quote_and_policy
    if policy.maximum is not None:
        assert quote.service_fee <= policy.maximum
    if policy.minimum is not None:
        if policy.minimum <= quote.customer_total:
            assert quote.service_fee >= policy.minimum
        else:
            assert quote.service_fee == quote.customer_total


@PROPERTY
@given(quotes())
def test_the_bearer_decides_only_who_pays(quote_and_policy: tuple[FeeQuote, FeePolicy]) -> None:
    quote, policy = quote_and_policy
    if policy.bearer.kind is BearerKind.TENANT:
        assert quote.customer_total == quote.subtotal
        assert quote.customer_fee.is_zero
    if policy.bearer.kind is BearerKind.CUSTOMER:
        assert quote.customer_fee == quote.service_fee
        assert quote.tenant_receives == quote.subtotal


@PROPERTY
@given(st.sampled_from(CURRENCIES), st.data())
def test_a_total_below_the_minimum_charge_is_refused(currency: str, data: st.DataObject) -> None:
    minimum = minimum_charge(currency)
    step = granularity(currency)
    policy = data.draw(fee_policies(currency))
    price = Money(data.draw(st.integers(0, (minimum - 1) // step)) * step, currency)
    tenant_bears = FeePolicy(
        percent_bps=policy.percent_bps, fixed=policy.fixed, bearer=FeeBearer.tenant()
    )
    with pytest.raises(BelowMinimumCharge) as refused:
        tenant_bears.quote(price, 1)
    assert (refused.value.amount, refused.value.minimum) == (price.amount, minimum)


@PROPERTY
@given(st.sampled_from(CURRENCIES), st.data())
def test_without_volume_tiers_more_seats_never_lower_the_fee(
    currency: str, data: st.DataObject
) -> None:
    policy = data.draw(fee_policies(currency))
    assume(not policy.tiers or policy.tier_mode is TierMode.MARGINAL)
    price = data.draw(money(currency, 200, 1))
    seats = data.draw(st.integers(1, 30))
    try:
        fewer = policy.quote(price, seats)
    except BelowMinimumCharge:
        return
    more = policy.quote(price, seats + 1)
    assert more.service_fee >= fewer.service_fee
    assert more.customer_total > fewer.customer_total


@PROPERTY
@given(st.sampled_from(CURRENCIES), st.data())
def test_one_tier_prices_the_same_in_volume_and_marginal_mode(
    currency: str, data: st.DataObject
) -> None:
    tier = Tier(
        up_to=data.draw(optional(money(currency, 1_000, 1))),
        percent_bps=data.draw(basis_points),
        fixed=data.draw(optional(money(currency, 5))),
    )
    price, seats = data.draw(money(currency, 500, 1)), data.draw(st.integers(1, 20))
    volume = FeePolicy(tiers=(tier,), tier_mode=TierMode.VOLUME, bearer=FeeBearer.customer())
    marginal = FeePolicy(tiers=(tier,), tier_mode=TierMode.MARGINAL, bearer=FeeBearer.customer())
    try:
        expected = volume.quote(price, seats)
    except BelowMinimumCharge:
        return
    assert marginal.quote(price, seats) == expected


# --- refund properties ---------------------------------------------------------------


@PROPERTY
@given(quotes(), st.sampled_from(RefundOnCancel), st.data())
def test_partial_refunds_never_exceed_what_was_paid(
    quote_and_policy: tuple[FeeQuote, FeePolicy], mode: RefundOnCancel, data: st.DataObject
) -> None:
    quote, _ = quote_and_policy
    booking = paid_booking(quote, mode)
    top = max(quote.customer_total.amount // granularity(quote.currency), 1)
    steps = data.draw(st.lists(st.integers(1, top), min_size=1, max_size=8))
    for number, count in enumerate(steps):
        amount = Money(count * granularity(quote.currency), quote.currency)
        refundable = quote.customer_total - booking.refunded.customer_refund
        if amount > refundable:
            with pytest.raises(RefundExceedsPaid):
                partial_refund(quote, amount, mode, booking.refunded)
            continue
        split = partial_refund(quote, amount, mode, booking.refunded)
        assert split.customer_refund == amount
        assert Money.zero(quote.currency) <= split.application_fee_refund <= amount
        assert split.application_fee_refund.is_chargeable_step()
        booking = booking.record_refund(f"re_{number}", split)
        if mode is RefundOnCancel.NEVER:
            assert split.application_fee_refund.is_zero
        else:
            # The tenant never gives back more than the transfer it received.
            assert booking.refunded.tenant_share <= quote.tenant_receives
    assert booking.refunded.customer_refund <= quote.customer_total
    assert booking.refunded.application_fee_refund <= quote.application_fee
    assert booking.refundable == quote.customer_total - booking.refunded.customer_refund

    # Whatever is left, a tenant's cancellation gives back, and the books close.
    rest = tenant_cancellation_refund(quote, mode, booking.refunded)
    everything = booking.refunded + rest
    assert everything.customer_refund == quote.customer_total
    if mode is RefundOnCancel.PROPORTIONAL:
        assert everything.application_fee_refund == quote.application_fee
        assert everything.tenant_share == quote.tenant_receives
    else:
        assert everything.application_fee_refund.is_zero


@PROPERTY
@given(quotes(), st.sampled_from(RefundOnCancel))
def test_one_full_refund_gives_the_fee_back_when_proportional(
    quote_and_policy: tuple[FeeQuote, FeePolicy], mode: RefundOnCancel
) -> None:
    quote, _ = quote_and_policy
    split = partial_refund(quote, quote.customer_total, mode)
    assert split.customer_refund == quote.customer_total
    expected_fee_back = quote.application_fee if mode is RefundOnCancel.PROPORTIONAL else None
    assert split.application_fee_refund == (expected_fee_back or Money.zero(quote.currency))
    with pytest.raises(RefundExceedsPaid):
        partial_refund(quote, Money(granularity(quote.currency), quote.currency), mode, split)


@PROPERTY
@given(quotes(), st.sampled_from(RefundOnCancel), st.integers(0, 100))
def test_a_customer_cancellation_refunds_the_policy_share(
    quote_and_policy: tuple[FeeQuote, FeePolicy], mode: RefundOnCancel, percent: int
) -> None:
    quote, _ = quote_and_policy
    split = customer_cancellation_refund(quote, percent, mode)
    base = quote.customer_total if mode is RefundOnCancel.PROPORTIONAL else quote.subtotal
    step = granularity(quote.currency)
    with localcontext() as context:
        context.prec = 60
        expected = _half_up(Decimal(_half_up(Decimal(base.amount) * percent / 100)), step)
    assert split.customer_refund.amount == expected
    assert split.customer_refund <= quote.customer_total
    assert Money.zero(quote.currency) <= split.application_fee_refund <= quote.application_fee
    if mode is RefundOnCancel.NEVER:
        assert split.application_fee_refund.is_zero
    if percent == 100 and mode is RefundOnCancel.PROPORTIONAL:
        assert split == RefundSplit(quote.customer_total, quote.application_fee)


@QUICK
@given(quotes(), st.sampled_from(RefundOnCancel), st.integers(0, 100), st.data())
def test_a_cancellation_after_partial_refunds_only_tops_up(
    quote_and_policy: tuple[FeeQuote, FeePolicy],
    mode: RefundOnCancel,
    percent: int,
    data: st.DataObject,
) -> None:
    quote, _ = quote_and_policy
    step = granularity(quote.currency)
    already_amount = data.draw(st.integers(1, quote.customer_total.amount // step)) * step
    already = partial_refund(quote, Money(already_amount, quote.currency), mode)
    top_up = customer_cancellation_refund(quote, percent, mode, already)
    fresh = customer_cancellation_refund(quote, percent, mode)
    total = already + top_up
    assert total.customer_refund == max(fresh.customer_refund, already.customer_refund)
    assert total.customer_refund <= quote.customer_total
    assert total.application_fee_refund <= quote.application_fee
