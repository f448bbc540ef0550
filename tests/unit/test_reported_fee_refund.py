"""The fee refund a refund books is the one the gateway reports, never a computed one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidAmount
from domain.ledger import reported_fee_refund
from domain.money import Money


def usd(amount: int) -> Money:
    return Money(amount, "usd")


@pytest.mark.parametrize(
    ("fee", "counted", "reported", "booked"),
    [
        (230, 0, None, 0),  # nothing reported: nothing guessed
        (230, 0, 0, 0),  # a dashboard refund that kept the fee
        (230, 0, 115, 115),  # the fee given back with the refund
        (230, 54, 109, 55),  # Stripe's rounding on running totals, not ours
        (230, 115, 115, 0),  # a replayed or stale report books nothing more
        (230, 120, 115, 0),  # less reported than counted: never negative
        (230, 200, 400, 30),  # never more than is left of the fee
    ],
)
def test_the_fee_refund_is_what_stripe_reports_beyond_what_is_counted(
    fee: int, counted: int, reported: int | None, booked: int
) -> None:
    got = reported_fee_refund(usd(fee), usd(counted), None if reported is None else usd(reported))
    assert got == usd(booked)


def test_a_report_in_another_currency_is_refused() -> None:
    with pytest.raises(InvalidAmount):
        reported_fee_refund(usd(230), usd(0), Money(100, "eur"))


@given(
    fee=st.integers(0, 10_000),
    counted=st.integers(0, 10_000),
    reported=st.integers(0, 20_000),
)
def test_counted_and_booked_never_exceed_the_fee(fee: int, counted: int, reported: int) -> None:
    counted = min(counted, fee)
    booked = reported_fee_refund(usd(fee), usd(counted), usd(reported))
    assert booked.amount >= 0
    assert counted + booked.amount <= fee
    assert counted + booked.amount == max(counted, min(reported, fee))
