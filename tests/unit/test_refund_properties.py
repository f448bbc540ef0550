"""Refund properties: partial refunds never pass what was paid, full refunds give the fee
back when proportional, cancellations follow the policy."""

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.cancellation import (
    RefundSplit,
    customer_cancellation_refund,
    partial_refund,
    tenant_cancellation_refund,
)
from domain.errors import RefundExceedsPaid
from domain.fee_quote import FeeQuote
from domain.fees import FeePolicy, RefundOnCancel
from domain.money import Money, granularity
from tests.unit.fee_strategies import PROPERTY, QUICK, half_up, paid_booking, quotes

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
        expected = half_up(Decimal(half_up(Decimal(base.amount) * percent / 100)), step)
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
