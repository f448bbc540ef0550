"""Properties of fee quotes and refund splits over random policies, prices and currencies.

The strategies here are shared with the ledger properties.
"""

from decimal import Decimal, localcontext

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import BelowMinimumCharge
from domain.fee_quote import BearerKind, FeeQuote
from domain.fees import FeeBearer, FeePolicy, Tier, TierMode
from domain.money import Money, granularity, minimum_charge
from tests.unit.fee_strategies import (
    CURRENCIES,
    PROPERTY,
    Sale,
    basis_points,
    fee_policies,
    half_up,
    money,
    optional,
    quotes,
    sales,
)

# --- strategies ----------------------------------------------------------------------


# --- an independent reading of the fee rules, in Decimal -------------------------------


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
        fee = half_up(Decimal(half_up(exact)), step)
        if policy.minimum:
            fee = max(fee, policy.minimum.amount)
        if policy.maximum:
            fee = min(fee, policy.maximum.amount)
        share = half_up(Decimal(half_up(_rate(fee, policy.bearer.customer_share_bps))), step)
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
