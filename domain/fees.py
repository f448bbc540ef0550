"""The platform's service fee: a versioned policy per tenant (optionally overridden per
offering by the platform) and the quote it produces.

A policy's fixed amounts (fixed, per seat, tier bounds and fees, minimum, maximum) are in
one currency; `by_currency` gives them again in each further currency the tenant sells in,
so one policy can price offerings in several currencies.

A fee is computed exactly (fractions of a minor unit) from every component, then rounded
once, half-up, to whole minor units and then to Stripe's granularity for the currency.
Caps apply after rounding; the fee never exceeds what the customer is charged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction

from domain.errors import CurrencyMismatch, FeePolicyCannotPrice, InvalidFeePolicy
from domain.fee_quote import BearerKind, FeePolicyRef, FeePolicyScope, FeeQuote
from domain.money import Money, granularity, normalize_currency, round_half_up

BPS = 10_000  # basis points in 100 %


class TierMode(StrEnum):
    """VOLUME: the tier the subtotal falls in prices all of it.
    MARGINAL: each slice of the subtotal is priced by the tier it falls in."""

    VOLUME = "volume"
    MARGINAL = "marginal"


class RefundOnCancel(StrEnum):
    """PROPORTIONAL: the platform refunds the same share of its fee as the customer gets
    back of the price. NEVER: the service fee is non-refundable."""

    PROPORTIONAL = "proportional"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class FeeBearer:
    """Who pays the fee: the customer on top of the price, the tenant out of it, or a split.

    `customer_share_bps` is the customer's share of the fee in basis points.
    """

    customer_share_bps: int

    def __post_init__(self) -> None:
        if not 0 <= self.customer_share_bps <= BPS:
            raise InvalidFeePolicy("the customer's share of the fee must be 0–10000 bps")

    @classmethod
    def customer(cls) -> FeeBearer:
        return cls(BPS)

    @classmethod
    def tenant(cls) -> FeeBearer:
        return cls(0)

    @classmethod
    def split(cls, customer_share_bps: int) -> FeeBearer:
        return cls(customer_share_bps)

    @property
    def kind(self) -> BearerKind:
        if self.customer_share_bps == BPS:
            return BearerKind.CUSTOMER
        if self.customer_share_bps == 0:
            return BearerKind.TENANT
        return BearerKind.SPLIT


@dataclass(frozen=True, slots=True)
class Tier:
    """A band of subtotals up to and including `up_to` (None: no upper bound)."""

    up_to: Money | None
    percent_bps: int = 0
    fixed: Money | None = None


@dataclass(frozen=True, slots=True)
class CurrencyAmounts:
    """A policy's fixed amounts in one further currency: all of them in `currency`."""

    currency: str
    fixed: Money | None = None
    per_seat_fixed: Money | None = None
    tiers: tuple[Tier, ...] = ()
    minimum: Money | None = None
    maximum: Money | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalize_currency(self.currency))


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """How the platform's fee is computed for a tenant's bookings. Components add up.

    `id` and `scope` say whose policy it is (see FeePolicyRef); the repository that stores
    it sets them. `by_currency` holds the fixed amounts for further currencies.
    """

    percent_bps: int = 0
    fixed: Money | None = None
    per_seat_fixed: Money | None = None
    tiers: tuple[Tier, ...] = ()
    tier_mode: TierMode = TierMode.VOLUME
    minimum: Money | None = None
    maximum: Money | None = None
    bearer: FeeBearer = field(default_factory=FeeBearer.customer)
    refund_on_cancel: RefundOnCancel = RefundOnCancel.PROPORTIONAL
    version: int = 1
    by_currency: tuple[CurrencyAmounts, ...] = ()
    # Whose policy it is names it; it is not part of what it charges.
    id: str = field(default="", compare=False)
    scope: FeePolicyScope = field(default=FeePolicyScope.TENANT, compare=False)

    def __post_init__(self) -> None:
        _require_bps(self.percent_bps, "percent")
        for name in ("fixed", "per_seat_fixed", "minimum", "maximum"):
            _require_fee_amount(getattr(self, name), name)
        if self.minimum and self.maximum:
            _same_currency(self.minimum, self.maximum)
            if self.minimum > self.maximum:
                raise InvalidFeePolicy("the minimum fee is larger than the maximum fee")
        self._check_tiers()
        if self.version < 1:
            raise InvalidFeePolicy("fee policy versions start at 1")
        currencies = {m.currency for m in self._amounts()}
        if len(currencies) > 1:
            raise InvalidFeePolicy(f"fee policy mixes currencies: {sorted(currencies)}")
        self._check_by_currency()

    def _check_by_currency(self) -> None:
        seen = set() if self.currency is None else {self.currency}
        for amounts in self.by_currency:
            # Each currency's amounts obey every rule the main ones do (checked on building).
            priced = self._with_amounts(amounts)
            if priced.currency not in (None, amounts.currency):
                raise InvalidFeePolicy(
                    f"the amounts given for {amounts.currency} must all be in "
                    f"{amounts.currency}, not {priced.currency}"
                )
            if amounts.currency in seen:
                raise InvalidFeePolicy(f"fixed amounts are given twice for {amounts.currency}")
            seen.add(amounts.currency)

    def _with_amounts(self, amounts: CurrencyAmounts) -> FeePolicy:
        return replace(
            self,
            fixed=amounts.fixed,
            per_seat_fixed=amounts.per_seat_fixed,
            tiers=amounts.tiers,
            minimum=amounts.minimum,
            maximum=amounts.maximum,
            by_currency=(),
        )

    def _check_tiers(self) -> None:
        previous: Money | None = None
        for index, tier in enumerate(self.tiers):
            _require_bps(tier.percent_bps, f"tier {index + 1} percent")
            _require_fee_amount(tier.fixed, f"tier {index + 1} fixed")
            last = index == len(self.tiers) - 1
            if tier.up_to is None:
                if not last:
                    raise InvalidFeePolicy("only the last tier may be open-ended (up_to null)")
                continue
            if tier.up_to.amount <= 0:
                raise InvalidFeePolicy("tier bounds must be positive")
            if previous is not None and tier.up_to <= previous:
                raise InvalidFeePolicy("tier bounds must increase")
            previous = tier.up_to

    def _amounts(self) -> list[Money]:
        amounts = [self.fixed, self.per_seat_fixed, self.minimum, self.maximum]
        for tier in self.tiers:
            amounts += [tier.up_to, tier.fixed]
        return [m for m in amounts if m is not None]

    @property
    def currency(self) -> str | None:
        """The currency its fixed amounts are in, or None for a purely relative policy."""
        amounts = self._amounts()
        return amounts[0].currency if amounts else None

    @property
    def currencies(self) -> frozenset[str]:
        """Every currency the policy gives fixed amounts in (empty: purely relative)."""
        found = {a.currency for a in self.by_currency}
        if self.currency is not None:
            found.add(self.currency)
        return frozenset(found)

    @property
    def ref(self) -> FeePolicyRef:
        return FeePolicyRef(self.id, self.version, self.scope)

    def with_version(self, version: int) -> FeePolicy:
        return replace(self, version=version)

    def owned_by(self, owner_id: str, scope: FeePolicyScope) -> FeePolicy:
        """The same policy, named as the tenant's (owner: tenant id) or an offering's."""
        return replace(self, id=owner_id, scope=scope)

    def can_price(self, currency: str) -> bool:
        """Whether the policy has what it needs to price a sale in this currency."""
        return self.currency in (None, currency) or any(
            a.currency == currency for a in self.by_currency
        )

    def require_prices(self, currency: str) -> FeePolicy:
        """The policy itself when it can price sales in `currency` (`can_price`), else
        FeePolicyCannotPrice. A tenant's policy must price its default currency."""
        if not self.can_price(currency):
            raise FeePolicyCannotPrice(currency, self.currencies)
        return self

    def priced_in(self, currency: str) -> FeePolicy:
        """The policy with its fixed amounts in `currency`; CurrencyMismatch when it has
        fixed amounts, but none in that currency."""
        for amounts in self.by_currency:
            if amounts.currency == currency:
                return self._with_amounts(amounts)
        if self.currency is not None and self.currency != currency:
            raise CurrencyMismatch(self.currency, currency)
        return self

    def quote(self, unit_price: Money, seats: int) -> FeeQuote:
        """The fee breakdown for `seats` seats at `unit_price` each.

        Raises CurrencyMismatch when the policy cannot price the price's currency, and
        BelowMinimumCharge / AboveMaximumCharge when Stripe would refuse the total.
        """
        if isinstance(seats, bool) or not isinstance(seats, int) or seats < 1:
            raise InvalidFeePolicy(f"a quote needs at least one seat, got {seats!r}")
        return self.priced_in(unit_price.currency)._quote(unit_price, seats).named(self.ref)

    def _quote(self, unit_price: Money, seats: int) -> FeeQuote:
        currency = unit_price.currency
        step = granularity(currency)
        subtotal = unit_price.times(seats).require_chargeable_step()

        exact = self._exact_fee(subtotal.amount, seats)
        fee = round_half_up(round_half_up(exact), step)
        if self.minimum is not None:
            fee = max(fee, self.minimum.amount)
        if self.maximum is not None:
            fee = min(fee, self.maximum.amount)

        customer_share = round_half_up(
            round_half_up(Fraction(fee * self.bearer.customer_share_bps, BPS)), step
        )
        customer_total = subtotal.amount + customer_share
        # The fee is taken out of the charge: it can never be more than the charge itself.
        fee = min(fee, customer_total)
        Money(customer_total, currency).require_chargeable()
        return FeeQuote(
            subtotal=subtotal,
            service_fee=Money(fee, currency),
            customer_fee=Money(customer_share, currency),
            customer_total=Money(customer_total, currency),
            application_fee=Money(fee, currency),
            tenant_receives=Money(customer_total - fee, currency),
            fee_bearer=self.bearer.kind,
            fee_policy_version=self.version,
            seats=seats,
            unit_price=unit_price,
        )

    def _exact_fee(self, subtotal: int, seats: int) -> Fraction:
        fee = Fraction(subtotal * self.percent_bps, BPS)
        if self.fixed is not None:
            fee += self.fixed.amount
        if self.per_seat_fixed is not None:
            fee += self.per_seat_fixed.amount * seats
        if self.tiers:
            fee += self._tier_fee(subtotal)
        return fee

    def _tier_fee(self, subtotal: int) -> Fraction:
        if self.tier_mode is TierMode.VOLUME:
            tier = next(
                (t for t in self.tiers if t.up_to is None or subtotal <= t.up_to.amount),
                self.tiers[-1],
            )
            return _tier_amount(tier, subtotal)
        fee = Fraction(0)
        lower = 0
        for index, tier in enumerate(self.tiers):
            if subtotal <= lower:
                break
            # As in volume mode, the last tier also prices whatever lies above its bound.
            last = index == len(self.tiers) - 1
            upper = subtotal if last or tier.up_to is None else min(subtotal, tier.up_to.amount)
            fee += _tier_amount(tier, upper - lower)
            if tier.up_to is None:
                break
            lower = tier.up_to.amount
        return fee


def policy_or_no_fee(policy: FeePolicy | None) -> FeePolicy:
    """The policy that prices a sale: `policy`, or, where the platform has set none, no
    fee at all (a policy of zero components, borne by nobody in effect)."""
    return FeePolicy() if policy is None else policy


def _tier_amount(tier: Tier, amount: int) -> Fraction:
    fee = Fraction(amount * tier.percent_bps, BPS)
    if tier.fixed is not None:
        fee += tier.fixed.amount
    return fee


def _require_bps(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= BPS:
        raise InvalidFeePolicy(f"{what} must be a whole number of basis points 0–10000")


def _require_fee_amount(value: Money | None, what: str) -> None:
    if value is None:
        return
    if value.is_negative:
        raise InvalidFeePolicy(f"{what} cannot be negative")
    if not value.is_chargeable_step():
        raise InvalidFeePolicy(
            f"{what} must be a multiple of {value.granularity} minor units in {value.currency}"
        )


def _same_currency(a: Money, b: Money) -> None:
    if a.currency != b.currency:
        raise InvalidFeePolicy(f"fee policy mixes currencies: {a.currency} and {b.currency}")
