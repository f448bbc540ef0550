"""Fee policies and quotes survive the JSON the repositories store them as, exactly."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from adapters.sql.codecs import fee_policy_from_json, fee_policy_to_json
from domain.errors import DomainError
from domain.fees import BPS, CurrencyAmounts, FeeBearer, FeePolicy, RefundOnCancel, Tier, TierMode
from domain.money import Money

CURRENCY = st.sampled_from(["usd", "jpy", "kwd"])


def _amounts(currency: str, low: int = 0) -> st.SearchStrategy[Money]:
    step = 10 if currency == "kwd" else 1
    return st.integers(low, 50_000).map(lambda n: Money(n * step, currency))


@st.composite
def fee_policies(draw: st.DrawFn) -> FeePolicy:
    currency = draw(CURRENCY)
    amount = _amounts(currency)
    bounds = sorted(set(draw(st.lists(_amounts(currency, 1), max_size=3))), key=lambda m: m.amount)
    tiers = tuple(
        Tier(bound, draw(st.integers(0, BPS)), draw(st.none() | amount)) for bound in bounds
    )
    if len(tiers) > 0 and draw(st.booleans()):
        tiers = (*tiers, Tier(None, draw(st.integers(0, BPS)), draw(st.none() | amount)))
    low, high = sorted([draw(amount), draw(amount)], key=lambda m: m.amount)
    # Fixed amounts in one further currency, sometimes (the policy's currency may be free).
    other = draw(CURRENCY.filter(lambda c: c != currency))
    by_currency = draw(
        st.none()
        | st.builds(
            CurrencyAmounts,
            st.just(other),
            fixed=st.none() | _amounts(other),
            per_seat_fixed=st.none() | _amounts(other),
        )
    )
    try:
        return FeePolicy(
            percent_bps=draw(st.integers(0, BPS)),
            fixed=draw(st.none() | amount),
            per_seat_fixed=draw(st.none() | amount),
            tiers=tiers,
            tier_mode=draw(st.sampled_from(TierMode)),
            minimum=draw(st.none() | st.just(low)),
            maximum=draw(st.none() | st.just(high)),
            bearer=FeeBearer(draw(st.integers(0, BPS))),
            refund_on_cancel=draw(st.sampled_from(RefundOnCancel)),
            version=draw(st.integers(1, 10_000)),
            by_currency=() if by_currency is None else (by_currency,),
        )
    except DomainError:
        return FeePolicy()


@given(fee_policies())
def test_a_fee_policy_round_trips_through_json(policy: FeePolicy) -> None:
    stored = json.loads(json.dumps(fee_policy_to_json(policy)))
    assert fee_policy_from_json(stored) == policy


@given(fee_policies())
def test_the_stored_json_holds_no_floats(policy: FeePolicy) -> None:
    def walk(value: object) -> None:
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(fee_policy_to_json(policy))
