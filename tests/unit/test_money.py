from fractions import Fraction

import pytest

from domain.errors import BelowMinimumCharge, CurrencyMismatch, InvalidAmount, UnknownCurrency
from domain.money import Money, exponent, granularity, minimum_charge, round_half_up


def test_money_is_whole_minor_units_in_a_known_lowercase_currency() -> None:
    assert Money(1999, "USD") == Money(1999, "usd")
    with pytest.raises(InvalidAmount):
        Money(19.99, "usd")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        Money(True, "usd")
    with pytest.raises(UnknownCurrency):
        Money(100, "xyz")


@pytest.mark.parametrize(
    ("currency", "places", "step"),
    [
        ("usd", 2, 1),
        ("eur", 2, 1),
        ("jpy", 0, 1),
        ("krw", 0, 1),
        ("kwd", 3, 10),
        ("bhd", 3, 10),
        ("isk", 2, 100),
    ],
)
def test_currency_exponents_and_stripe_granularity(currency: str, places: int, step: int) -> None:
    assert exponent(currency) == places
    assert granularity(currency) == step


def test_arithmetic_across_two_currencies_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(100, "usd") + Money(100, "eur")
    with pytest.raises(CurrencyMismatch):
        _ = Money(100, "usd") < Money(100, "eur")
    assert Money(100, "usd") + Money(1, "usd") == Money(101, "usd")
    assert Money(100, "usd") - Money(101, "usd") == Money(-1, "usd")


@pytest.mark.parametrize(
    ("amount", "currency", "minimum"),
    [(49, "usd", 50), (49, "eur", 50), (29, "gbp", 30), (49, "jpy", 50)],
)
def test_a_charge_below_stripes_minimum_is_refused(
    amount: int, currency: str, minimum: int
) -> None:
    assert minimum_charge(currency) == minimum
    with pytest.raises(BelowMinimumCharge):
        Money(amount, currency).require_minimum_charge()
    assert Money(minimum, currency).require_minimum_charge() == Money(minimum, currency)


def test_round_half_up_to_a_step() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(49, 2)) == 25
    assert round_half_up(Fraction(249, 10)) == 25
    assert round_half_up(15, 10) == 20
    assert round_half_up(14, 10) == 10


def test_format_shows_major_units_without_floats() -> None:
    assert Money(1999, "usd").format() == "19.99 USD"
    assert Money(500, "jpy").format() == "500 JPY"
    assert Money(1250, "kwd").format() == "1.250 KWD"
    assert Money(-5, "eur").format() == "-0.05 EUR"
