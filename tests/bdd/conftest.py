"""Steps shared by every feature, and the helpers that read the analysts' notation.

Money is written as people write it — "20.00 USD", "1500 JPY", "1.250 KWD" — and read
into minor units by the currency's exponent, with Decimal and never a float.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from pytest_bdd import given, parsers, then

from domain import errors
from domain.booking import Booking, Customer
from domain.errors import DomainError
from domain.fees import FeeBearer, FeePolicy, FeeQuote, RefundOnCancel, Tier, TierMode
from domain.money import Money, exponent, granularity

NONE_WORDS = frozenset({"none", "-", "no", ""})


# --- reading the notation ------------------------------------------------------------


def parse_money(text: str) -> Money:
    """Read "20.00 USD" as Money(2000, "usd"); refuse more decimals than the currency has."""
    number, _, code = text.strip().rpartition(" ")
    if not number:
        raise ValueError(
            f"write money as an amount and a currency code, e.g. '20.00 USD': {text!r}"
        )
    return Money(_minor_units(number, code, text), code)


def parse_amount(text: str, currency: str) -> Money:
    """An amount with its own currency ("0.30 EUR"), or in `currency` when it has none."""
    text = text.strip()
    if " " in text:
        return parse_money(text)
    return Money(_minor_units(text, currency, text), currency)


def _minor_units(number: str, currency: str, original: str) -> int:
    try:
        minor = Decimal(number).scaleb(exponent(currency))
    except InvalidOperation:
        raise ValueError(f"not an amount: {original!r}") from None
    if minor != minor.to_integral_value():
        raise ValueError(
            f"{original!r} has more decimal places than {currency.upper()} has "
            f"({exponent(currency)})"
        )
    return int(minor)


def parse_bps(text: str) -> int:
    """Read "2.5%" as 250 basis points, and "250 bps" as 250; "none" is 0."""
    text = text.strip()
    if text.lower() in NONE_WORDS:
        return 0
    if text.endswith("bps"):
        return int(text.removesuffix("bps"))
    if text.endswith("%"):
        bps = Decimal(text.removesuffix("%")) * 100
        if bps != bps.to_integral_value():
            raise ValueError(f"{text!r} is finer than a basis point")
        return int(bps)
    raise ValueError(
        f"write a rate as a percentage ('2.5%') or in basis points ('250 bps'): {text!r}"
    )


def parse_bearer(text: str) -> FeeBearer:
    """Read "customer", "tenant", or "split 4000 bps" (the customer's share of the fee)."""
    text = text.strip().lower()
    if text == "customer":
        return FeeBearer.customer()
    if text == "tenant":
        return FeeBearer.tenant()
    split = re.fullmatch(r"split\s+(.+)", text)
    if split:
        return FeeBearer.split(parse_bps(split.group(1)))
    raise ValueError(f"the fee bearer is 'customer', 'tenant' or 'split <bps>': {text!r}")


_TIER = re.compile(r"(?:up to (?P<up_to>[^:]+)|above):\s*(?P<rate>.+)")


def parse_tiers(text: str, currency: str) -> tuple[Tier, ...]:
    """Read "up to 100.00: 10% + 0.30; above: 5%" as two tiers in `currency`.

    A rate is a percentage, a fixed amount, or both joined with "+".
    """
    tiers = []
    for part in text.split(";"):
        match = _TIER.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"a tier reads 'up to 100.00: 10% + 0.30' or 'above: 5%': {part!r}")
        up_to = match.group("up_to")
        percent_bps, fixed = 0, None
        for term in match.group("rate").split("+"):
            term = term.strip()
            if term.endswith(("%", "bps")):
                percent_bps += parse_bps(term)
            else:
                fixed = parse_amount(term, currency)
        tiers.append(
            Tier(
                up_to=None if up_to is None else parse_amount(up_to, currency),
                percent_bps=percent_bps,
                fixed=fixed,
            )
        )
    return tuple(tiers)


def parse_moment(text: str) -> datetime:
    """Read "2026-03-01 10:00 UTC" as an aware datetime."""
    return datetime.strptime(text.strip().removesuffix("UTC").strip(), "%Y-%m-%d %H:%M").replace(
        tzinfo=UTC
    )


_DURATION_PART = re.compile(
    r"(?P<count>\d+(?:\.\d+)?)\s*(?P<unit>hours?|h|minutes?|min|seconds?|s)"
)


def parse_duration(text: str) -> timedelta:
    """Read "24 hours 1 minute", "30 minutes" or "-1 h" as a timedelta."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    total = timedelta(0)
    rest = text.lstrip("-").strip()
    for part in re.split(r"\s+and\s+|,\s*|\s+(?=\d)", rest):
        match = _DURATION_PART.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"not a duration: {text!r}")
        count = Decimal(match.group("count"))
        unit = match.group("unit")[0]
        seconds = count * {"h": 3600, "m": 60, "s": 1}[unit]
        total += timedelta(seconds=int(seconds))
    return sign * total


def status_name(text: str) -> str:
    """Read "pending payment" (or "pending_payment") as a BookingStatus value."""
    return text.strip().lower().replace(" ", "_")


# --- outcomes: a When step either produces a value or is refused ---------------------


@dataclass(frozen=True)
class Outcome:
    """What a When step produced, or the domain error that refused it.

    `value` may be set alongside `error` when the step got part of the way (the state
    before the refusal); `result()` insists there was no refusal.
    """

    value: Any = None
    error: DomainError | None = None
    previous: Any = None
    detail: dict[str, Any] = field(default_factory=dict)

    def result(self) -> Any:
        if self.error is not None:
            raise AssertionError(f"unexpectedly refused: {self.error!r}") from self.error
        return self.value


def attempt(action: Callable[[], Any], **detail: Any) -> Outcome:
    try:
        return Outcome(value=action(), detail=detail)
    except DomainError as error:
        return Outcome(error=error, detail=detail)


def assert_money(actual: Money, expected: str, what: str) -> None:
    wanted = parse_money(expected)
    assert actual == wanted, f"{what}: expected {wanted}, got {actual}"


@then(parsers.re(r"it is refused with (?P<error_name>\w+)"))
def refused_with(outcome: Outcome, error_name: str) -> None:
    expected = getattr(errors, error_name, None)
    known = isinstance(expected, type) and issubclass(expected, DomainError)
    assert known, f"{error_name} is not an error the domain names (see domain/errors.py)"
    assert outcome.error is not None, (
        f"expected {error_name}, but it went through: {outcome.value!r}"
    )
    assert isinstance(outcome.error, expected), f"expected {error_name}, got {outcome.error!r}"
    assert str(outcome.error), "a refusal explains itself"


# --- fee policies, built from Given steps and completed once the price is known --------


@dataclass(frozen=True)
class PolicyDraft:
    """A fee policy as the Given steps describe it; amounts are still the analyst's text
    because some (tier bounds) take their currency from the price."""

    percent_bps: int = 0
    fixed: str = "none"
    per_seat: str = "none"
    tiers: str = "none"
    tier_mode: TierMode = TierMode.VOLUME
    minimum: str = "none"
    maximum: str = "none"
    bearer: FeeBearer = field(default_factory=FeeBearer.customer)
    refund_on_cancel: RefundOnCancel = RefundOnCancel.PROPORTIONAL
    version: int = 1

    def build(self, currency: str) -> FeePolicy:
        def amount(text: str) -> Money | None:
            return None if text.strip().lower() in NONE_WORDS else parse_amount(text, currency)

        tiers = (
            () if self.tiers.strip().lower() in NONE_WORDS else parse_tiers(self.tiers, currency)
        )
        return FeePolicy(
            percent_bps=self.percent_bps,
            fixed=amount(self.fixed),
            per_seat_fixed=amount(self.per_seat),
            tiers=tiers,
            tier_mode=self.tier_mode,
            minimum=amount(self.minimum),
            maximum=amount(self.maximum),
            bearer=self.bearer,
            refund_on_cancel=self.refund_on_cancel,
            version=self.version,
        )


@pytest.fixture
def policy_draft() -> PolicyDraft:
    return PolicyDraft()


@given(
    parsers.re(r"the platform charges (?P<rate>.+) of the subtotal"), target_fixture="policy_draft"
)
def platform_charges_percentage(policy_draft: PolicyDraft, rate: str) -> PolicyDraft:
    return replace(policy_draft, percent_bps=parse_bps(rate))


@given(parsers.re(r"a fixed fee of (?P<amount>.+) per booking"), target_fixture="policy_draft")
def fixed_fee_per_booking(policy_draft: PolicyDraft, amount: str) -> PolicyDraft:
    return replace(policy_draft, fixed=amount)


@given(parsers.re(r"a fixed fee of (?P<amount>.+) per seat"), target_fixture="policy_draft")
def fixed_fee_per_seat(policy_draft: PolicyDraft, amount: str) -> PolicyDraft:
    return replace(policy_draft, per_seat=amount)


@given(
    parsers.re(r'tiers by subtotal in (?P<mode>volume|marginal) mode: "(?P<tiers>.*)"'),
    target_fixture="policy_draft",
)
def tiers_by_subtotal(policy_draft: PolicyDraft, mode: str, tiers: str) -> PolicyDraft:
    return replace(policy_draft, tiers=tiers, tier_mode=TierMode(mode))


@given(parsers.re(r"a minimum fee of (?P<amount>.+)"), target_fixture="policy_draft")
def minimum_fee(policy_draft: PolicyDraft, amount: str) -> PolicyDraft:
    return replace(policy_draft, minimum=amount)


@given(parsers.re(r"a maximum fee of (?P<amount>.+)"), target_fixture="policy_draft")
def maximum_fee(policy_draft: PolicyDraft, amount: str) -> PolicyDraft:
    return replace(policy_draft, maximum=amount)


@given(parsers.re(r"the fee bearer is (?P<bearer>.+)"), target_fixture="policy_draft")
def fee_bearer(policy_draft: PolicyDraft, bearer: str) -> PolicyDraft:
    return replace(policy_draft, bearer=parse_bearer(bearer))


@given(
    parsers.re(r"the service fee refund on cancellation is (?P<mode>proportional|never)"),
    target_fixture="policy_draft",
)
def fee_refund_mode(policy_draft: PolicyDraft, mode: str) -> PolicyDraft:
    return replace(policy_draft, refund_on_cancel=RefundOnCancel(mode))


@given(parsers.re(r"the fee policy is version (?P<version>\d+)"), target_fixture="policy_draft")
def fee_policy_version(policy_draft: PolicyDraft, version: str) -> PolicyDraft:
    return replace(policy_draft, version=int(version))


def whole_minor_units(money: Money) -> bool:
    return money.amount % granularity(money.currency) == 0


# --- bookings ------------------------------------------------------------------------

BOOKED_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
STARTS_AT = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)


def new_booking(
    quote: FeeQuote,
    refund_on_cancel: RefundOnCancel = RefundOnCancel.PROPORTIONAL,
    hold_expires_at: datetime | None = None,
) -> Booking:
    """A booking waiting for its payment, sold with `quote`."""
    return Booking(
        id="bk_1",
        tenant_id="tn_1",
        offering_id="of_1",
        slot_id="sl_1",
        seats=quote.seats,
        starts_at=STARTS_AT,
        customer=Customer(email="ada@example.com", name="Ada"),
        quote=quote,
        refund_on_cancel=refund_on_cancel,
        hold_expires_at=hold_expires_at or BOOKED_AT + timedelta(minutes=30),
        created_at=BOOKED_AT,
    )
