"""Steps for features/fee_policies.feature: quoting a booking under a fee policy."""

from pytest_bdd import parsers, scenarios, then, when

from domain.errors import AboveMaximumCharge
from domain.fee_quote import FeeQuote
from tests.bdd.conftest import (
    Outcome,
    PolicyDraft,
    assert_money,
    attempt,
    whole_minor_units,
)
from tests.bdd.notation import parse_money

scenarios("fee_policies.feature")


@when(
    parsers.re(r"a customer books (?P<seats>\d+) seats? at (?P<price>.+) each"),
    target_fixture="outcome",
)
def customer_books(policy_draft: PolicyDraft, seats: str, price: str) -> Outcome:
    unit_price = parse_money(price)
    return attempt(lambda: policy_draft.build(unit_price.currency).quote(unit_price, int(seats)))


def _quote(outcome: Outcome) -> FeeQuote:
    quote = outcome.result()
    assert isinstance(quote, FeeQuote)
    return quote


@then(parsers.re(r"the subtotal is (?P<amount>.+)"))
def subtotal_is(outcome: Outcome, amount: str) -> None:
    assert_money(_quote(outcome).subtotal, amount, "subtotal")


@then(parsers.re(r"the service fee is (?P<amount>.+)"))
def service_fee_is(outcome: Outcome, amount: str) -> None:
    assert_money(_quote(outcome).service_fee, amount, "service fee")


@then(parsers.re(r"the customer's service fee line is (?P<amount>.+)"))
def fee_line_is(outcome: Outcome, amount: str) -> None:
    assert_money(_quote(outcome).customer_fee, amount, "service fee line")


@then(parsers.re(r"the customer pays (?P<amount>.+)"))
def customer_pays(outcome: Outcome, amount: str) -> None:
    assert_money(_quote(outcome).customer_total, amount, "customer total")


@then(parsers.re(r"the application fee is (?P<amount>.+)"))
def application_fee_is(outcome: Outcome, amount: str) -> None:
    assert_money(_quote(outcome).application_fee, amount, "application fee")


@then(parsers.re(r"the tenant receives (?P<amount>.+)"))
def tenant_receives(outcome: Outcome, amount: str) -> None:
    assert_money(_quote(outcome).tenant_receives, amount, "tenant receives")


@then("the quote balances")
def quote_balances(outcome: Outcome) -> None:
    quote = _quote(outcome)
    assert quote.customer_total == quote.subtotal + quote.customer_fee
    assert quote.application_fee == quote.service_fee
    assert quote.tenant_receives == quote.customer_total - quote.application_fee
    assert 0 <= quote.application_fee.amount <= quote.customer_total.amount
    assert 0 <= quote.customer_fee.amount <= quote.service_fee.amount
    for name in ("subtotal", "service_fee", "customer_fee", "customer_total", "tenant_receives"):
        amount = getattr(quote, name)
        assert whole_minor_units(amount), f"{name} {amount} is not a step Stripe accepts"


@then(parsers.re(r"the refusal names the minimum charge of (?P<amount>.+)"))
def refusal_names_minimum(outcome: Outcome, amount: str) -> None:
    minimum = parse_money(amount)
    error = outcome.error
    assert error is not None
    assert (getattr(error, "minimum", None), getattr(error, "currency", None)) == (
        minimum.amount,
        minimum.currency,
    )


@then(parsers.re(r"it is refused as more than Stripe takes in one payment: at most (?P<amount>.+)"))
def refused_above_maximum(outcome: Outcome, amount: str) -> None:
    maximum = parse_money(amount)
    assert isinstance(outcome.error, AboveMaximumCharge), outcome
    assert (outcome.error.maximum, outcome.error.currency) == (maximum.amount, maximum.currency)
    assert outcome.error.amount > outcome.error.maximum
    assert str(maximum) in str(outcome.error)


@then(parsers.re(r"the quote records fee policy version (?P<version>\d+)"))
def quote_records_version(outcome: Outcome, version: str) -> None:
    assert _quote(outcome).fee_policy_version == int(version)


@then(parsers.re(r"the quote shows (?P<seats>\d+) seats? at (?P<price>.+) each"))
def quote_shows_seats(outcome: Outcome, seats: str, price: str) -> None:
    quote = _quote(outcome)
    assert quote.seats == int(seats)
    assert_money(quote.unit_price, price, "unit price")
