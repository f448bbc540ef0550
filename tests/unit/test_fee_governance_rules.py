"""The domain rules of issue 13: Stripe's maximum charge, fixed amounts per currency, the
rule "this policy can price this offering", and what a tenant's timezone and country are."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.errors import (
    AboveMaximumCharge,
    CurrencyMismatch,
    InvalidFeePolicy,
    InvalidOffering,
    InvalidTenant,
    OfferingCurrencyFixed,
    OfferingsNotQuotable,
)
from domain.fee_quote import FeePolicyRef, FeePolicyScope
from domain.fees import CurrencyAmounts, FeePolicy
from domain.money import Money, maximum_charge
from domain.offering import Offering, ensure_quotable
from domain.tenant import require_country, require_timezone

USD_POLICY = FeePolicy(percent_bps=500, fixed=Money(30, "usd"))


def an_offering(price: Money, **changes: object) -> Offering:
    base = Offering(
        id="of_1",
        tenant_id="tn_1",
        name="Class",
        price=price,
        duration_minutes=60,
        capacity=5,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- Stripe's maximum charge ----------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "maximum"),
    [("usd", 99_999_999), ("jpy", 99_999_999), ("kwd", 99_999_990), ("isk", 99_999_900)],
)
def test_the_maximum_charge_is_eight_digits_in_the_currencys_steps(
    currency: str, maximum: int
) -> None:
    assert maximum_charge(currency) == maximum
    assert Money(maximum, currency).require_chargeable() == Money(maximum, currency)
    with pytest.raises(AboveMaximumCharge) as refused:
        Money(maximum + Money(0, currency).granularity, currency).require_maximum_charge()
    assert refused.value.maximum == maximum


def test_a_quote_above_the_maximum_is_refused_even_when_the_fee_pushes_it_over() -> None:
    policy = FeePolicy(percent_bps=100)
    assert policy.quote(Money(99_000_000, "usd"), 1).customer_total == Money(99_990_000, "usd")
    with pytest.raises(AboveMaximumCharge, match=r"above the maximum of 999999\.99 USD"):
        policy.quote(Money(99_999_000, "usd"), 1)
    with pytest.raises(AboveMaximumCharge):
        FeePolicy().quote(Money(5_000_000, "usd"), 30)


def test_a_price_per_seat_above_the_maximum_cannot_be_offered() -> None:
    an_offering(Money(99_999_999, "usd"))
    with pytest.raises(InvalidOffering):
        an_offering(Money(100_000_000, "usd"))


# --- fixed amounts per currency -------------------------------------------------------


def test_a_policy_prices_each_currency_with_its_own_fixed_amounts() -> None:
    policy = replace(
        USD_POLICY,
        by_currency=(CurrencyAmounts("EUR", fixed=Money(25, "eur")),),
    )
    assert policy.currencies == {"usd", "eur"}
    assert policy.quote(Money(2000, "usd"), 1).service_fee == Money(130, "usd")
    assert policy.quote(Money(2000, "eur"), 1).service_fee == Money(125, "eur")
    assert not policy.can_price("gbp")
    with pytest.raises(CurrencyMismatch):
        policy.quote(Money(2000, "gbp"), 1)


def test_a_purely_relative_policy_prices_every_currency() -> None:
    policy = FeePolicy(percent_bps=500)
    assert policy.currencies == frozenset()
    assert all(policy.can_price(c) for c in ("usd", "eur", "jpy"))


@pytest.mark.parametrize(
    "by_currency",
    [
        (CurrencyAmounts("usd", fixed=Money(10, "usd")),),  # the main currency again
        (
            CurrencyAmounts("eur", fixed=Money(10, "eur")),
            CurrencyAmounts("eur", fixed=Money(20, "eur")),
        ),
        (CurrencyAmounts("eur", fixed=Money(10, "gbp")),),  # amounts in another currency
        (CurrencyAmounts("kwd", fixed=Money(5, "kwd")),),  # not a step Stripe accepts
    ],
)
def test_contradicting_amounts_per_currency_are_refused(
    by_currency: tuple[CurrencyAmounts, ...],
) -> None:
    with pytest.raises(InvalidFeePolicy):
        replace(USD_POLICY, by_currency=by_currency)


def test_a_quote_names_the_policy_that_priced_it() -> None:
    policy = USD_POLICY.with_version(3).owned_by("of_9", FeePolicyScope.OFFERING)
    quote = policy.quote(Money(2000, "usd"), 2)
    assert quote.fee_policy == FeePolicyRef("of_9", 3, FeePolicyScope.OFFERING)
    assert quote.fee_policy_version == 3
    # Who owns a policy is not part of what it charges.
    assert policy == USD_POLICY.with_version(3)


# --- every active offering stays quotable ---------------------------------------------


def test_an_offering_is_quotable_when_its_policy_can_price_one_seat() -> None:
    assert an_offering(Money(2000, "usd")).why_not_quotable(USD_POLICY) is None
    # One seat below Stripe's minimum is fine: several seats may reach it.
    assert an_offering(Money(10, "usd")).why_not_quotable(USD_POLICY) is None
    assert an_offering(Money(2000, "eur")).why_not_quotable(USD_POLICY) is not None
    # The fee alone pushing one seat above Stripe's maximum makes it unsellable.
    top = an_offering(Money(99_999_999, "usd"))
    assert top.why_not_quotable(FeePolicy(percent_bps=100)) is not None


def test_ensure_quotable_names_every_active_offering_it_would_leave_unpriced() -> None:
    eur = FeePolicy(percent_bps=500, fixed=Money(30, "eur"))
    in_usd = an_offering(Money(2000, "usd"), id="of_usd")
    in_eur = an_offering(Money(2000, "eur"), id="of_eur")
    overridden = an_offering(Money(2000, "usd"), id="of_own", fee_policy=FeePolicy())
    archived = an_offering(Money(2000, "usd"), id="of_old", archived=True)

    with pytest.raises(OfferingsNotQuotable) as refused:
        ensure_quotable([in_usd, in_eur, overridden, archived], eur)
    assert refused.value.offering_ids == ["of_usd"]
    assert "of_usd" in str(refused.value)
    ensure_quotable([in_eur, overridden, archived], eur)


def test_an_offerings_currency_is_fixed_once_it_has_slots() -> None:
    offering = an_offering(Money(2000, "usd"))
    assert offering.with_price(Money(1000, "eur"), has_slots=False).price == Money(1000, "eur")
    assert offering.with_price(Money(1500, "usd"), has_slots=True).price == Money(1500, "usd")
    with pytest.raises(OfferingCurrencyFixed):
        offering.with_price(Money(1000, "eur"), has_slots=True)


# --- a tenant's timezone and country --------------------------------------------------


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"])
def test_iana_timezones_are_accepted(name: str) -> None:
    assert require_timezone(name) == name


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "europe/berlin", "../etc/passwd", "+02:00"])
def test_anything_else_is_not_a_timezone(name: str) -> None:
    with pytest.raises(InvalidTenant):
        require_timezone(name)


def test_a_country_is_an_assigned_iso_code_in_upper_case() -> None:
    def known(code: str) -> bool:
        return code in {"DE", "US"}

    assert require_country("de", known) == "DE"
    for code in ("ZZ", "D", "DEU", "ÄÖ", ""):
        with pytest.raises(InvalidTenant):
            require_country(code, known)
