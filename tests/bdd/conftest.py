"""Steps shared by every feature: outcomes of domain steps, fee policies drafted by Given
steps, and bookings. The analysts' notation is read by tests.bdd.notation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, then

from domain import errors
from domain.booking import Booking, Customer
from domain.errors import DomainError
from domain.fee_quote import FeeQuote
from domain.fees import FeeBearer, FeePolicy, RefundOnCancel, TierMode
from domain.money import Money, granularity
from tests.bdd.notation import (
    NONE_WORDS,
    parse_amount,
    parse_bearer,
    parse_bps,
    parse_money,
    parse_tiers,
)
from tests.support.step_lookup import find_step_definitions_once

find_step_definitions_once()

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


# The reasons a domain feature may give after "it is refused: ", and the error each names.
REASONS: dict[str, type[DomainError]] = {
    "not enough seats": errors.SeatsUnavailable,
    "beyond the slot's seats": errors.SlotCapacityError,
    "not a number of seats": errors.InvalidSeatCount,
    "the booking's state does not allow it": errors.IllegalTransition,
    "more than the customer paid": errors.RefundExceedsPaid,
    "not a refund of this payment": errors.InvalidRefund,
    "not a hold the platform allows": errors.InvalidHold,
    "the cancellation window has closed": errors.CancellationWindowClosed,
    "not a cancellation policy": errors.InvalidCancellationPolicy,
    "not a fee policy": errors.InvalidFeePolicy,
    "below the smallest charge": errors.BelowMinimumCharge,
    "the currencies differ": errors.CurrencyMismatch,
    "not an amount": errors.InvalidAmount,
}


@then(parsers.re(r"it is refused: (?P<reason>.+)"))
def refused_because(outcome: Outcome, reason: str) -> None:
    assert reason in REASONS, f"name a reason of REASONS after 'it is refused: ', not {reason!r}"
    expected = REASONS[reason]
    assert outcome.error is not None, f"expected {reason!r}, but it went through: {outcome.value!r}"
    assert isinstance(outcome.error, expected), f"expected {reason!r}, got {outcome.error!r}"
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
