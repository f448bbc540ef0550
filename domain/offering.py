"""Offerings a tenant sells, and the slots customers book seats in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from domain.cancellation import CancellationPolicy
from domain.clock import as_utc
from domain.errors import (
    AboveMaximumCharge,
    BelowMinimumCharge,
    CapacityBelowSeatsTaken,
    CurrencyMismatch,
    InvalidOffering,
    InvalidSeatCount,
    OfferingArchived,
    OfferingCurrencyFixed,
    OfferingsNotQuotable,
    SeatsUnavailable,
    SlotAlreadyStarted,
    SlotCancelled,
    SlotCapacityError,
    TooManySeatsPerBooking,
)
from domain.fees import FeePolicy
from domain.money import Money, maximum_charge

MAX_CAPACITY = 100_000
MAX_DURATION_MINUTES = 60 * 24 * 31
# Seats one booking may take when the offering names no maximum of its own, so that one
# anonymous checkout cannot hold every seat of a large slot. A tenant who sells whole slots
# at once sets the offering's max_seats_per_booking (up to its capacity); the platform may
# change this default (BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING).
DEFAULT_MAX_SEATS_PER_BOOKING = 10


def require_seats(seats: object) -> int:
    if isinstance(seats, bool) or not isinstance(seats, int) or seats < 1:
        raise InvalidSeatCount(seats)
    return seats


def _require_capacity(capacity: object) -> int:
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise InvalidOffering(f"capacity must be a whole number, got {capacity!r}")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidOffering(f"capacity must be between 1 and {MAX_CAPACITY}")
    return capacity


@dataclass(frozen=True, slots=True)
class Offering:
    """A bookable service: price per seat, duration, capacity per slot, policies.

    `fee_policy` is the platform's override for this offering (scope OFFERING), None when
    the tenant's policy applies; only the platform sets it, never the tenant.
    """

    id: str
    tenant_id: str
    name: str
    price: Money
    duration_minutes: int
    capacity: int
    description: str = ""
    cancellation_policy: CancellationPolicy | None = None
    fee_policy: FeePolicy | None = None
    archived: bool = False
    # At most this many seats in one booking (None: the platform's default cap).
    max_seats_per_booking: int | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidOffering("an offering needs a name")
        if self.price.amount <= 0:
            raise InvalidOffering("the price per seat must be positive")
        if not self.price.is_chargeable_step():
            raise InvalidOffering(
                f"{self.price.currency} prices must be multiples of "
                f"{self.price.granularity} minor units"
            )
        most = Money(maximum_charge(self.price.currency), self.price.currency)
        if self.price > most:
            raise InvalidOffering(f"the price per seat is above the {most} Stripe accepts at once")
        if not 1 <= self.duration_minutes <= MAX_DURATION_MINUTES:
            raise InvalidOffering("duration_minutes must be between 1 and 44640")
        _require_capacity(self.capacity)
        if self.max_seats_per_booking is not None:
            _require_capacity(self.max_seats_per_booking)

    def ensure_bookable(self) -> None:
        if self.archived:
            raise OfferingArchived(self.id)

    def seats_per_booking_limit(self, platform_default: int = DEFAULT_MAX_SEATS_PER_BOOKING) -> int:
        """The most seats one booking may take: the offering's own maximum when it sets one,
        else `platform_default` (a whole number >= 1)."""
        if self.max_seats_per_booking is not None:
            return self.max_seats_per_booking
        return platform_default

    def ensure_seats_per_booking(
        self, seats: int, platform_default: int = DEFAULT_MAX_SEATS_PER_BOOKING
    ) -> None:
        """Refuse a booking of more seats than the offering sells at once
        (TooManySeatsPerBooking), so no single checkout holds every seat of a large slot;
        InvalidSeatCount when `seats` is not a whole number >= 1."""
        require_seats(seats)
        limit = self.seats_per_booking_limit(platform_default)
        if seats > limit:
            raise TooManySeatsPerBooking(self.id, seats, limit)

    def archive(self) -> Offering:
        return replace(self, archived=True)

    def effective_fee_policy(self, tenant_policy: FeePolicy) -> FeePolicy:
        """The platform's override for this offering when it has one, else the tenant's."""
        return self.fee_policy or tenant_policy

    def why_not_quotable(self, policy: FeePolicy) -> str | None:
        """Why `policy` cannot price a seat of this offering, or None when it can.

        One seat below Stripe's minimum charge is fine (several seats may reach it); a
        currency the policy has no fixed amounts in, or one seat above Stripe's maximum
        charge, would refuse every checkout.
        """
        try:
            policy.quote(self.price, 1)
        except BelowMinimumCharge:
            return None
        except (CurrencyMismatch, AboveMaximumCharge) as error:
            return str(error)
        return None

    def with_price(self, price: Money, *, has_slots: bool) -> Offering:
        """The offering at a new price; its currency is fixed once it has slots
        (OfferingCurrencyFixed), since slots are sold and reported in it."""
        if has_slots and price.currency != self.price.currency:
            raise OfferingCurrencyFixed(self.id, self.price.currency)
        return replace(self, price=price)

    def new_slot(self, slot_id: str, starts_at: datetime, capacity: int | None = None) -> Slot:
        self.ensure_bookable()
        return Slot(
            id=slot_id,
            tenant_id=self.tenant_id,
            offering_id=self.id,
            starts_at=as_utc(starts_at),
            capacity=self.capacity if capacity is None else capacity,
        )


@dataclass(frozen=True, slots=True)
class Slot:
    """An offering at a start time. held + booked never exceeds capacity.

    These methods are the rule; the repositories enforce it with one atomic statement.
    """

    id: str
    tenant_id: str
    offering_id: str
    starts_at: datetime
    capacity: int
    held: int = 0
    booked: int = 0
    # When the tenant cancelled the slot: no more sales, every booking on it ends.
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", as_utc(self.starts_at))
        if self.cancelled_at is not None:
            object.__setattr__(self, "cancelled_at", as_utc(self.cancelled_at))
        _require_capacity(self.capacity)
        if self.held < 0 or self.booked < 0 or self.held + self.booked > self.capacity:
            raise SlotCapacityError(f"slot {self.id} would be overbooked")

    @property
    def seats_available(self) -> int:
        return self.capacity - self.held - self.booked

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def seats_taken(self) -> int:
        return self.held + self.booked

    def ensure_bookable_at(self, now: datetime) -> None:
        """A slot is sold until it starts, never after, and never once cancelled."""
        if self.is_cancelled:
            raise SlotCancelled(self.id)
        if self.starts_at <= as_utc(now):
            raise SlotAlreadyStarted(self.id)

    def resize(self, capacity: int) -> Slot:
        """A new capacity, never below the seats held and booked now."""
        if self.is_cancelled:
            raise SlotCancelled(self.id)
        _require_capacity(capacity)
        if capacity < self.seats_taken:
            raise CapacityBelowSeatsTaken(self.id, capacity, self.seats_taken)
        return replace(self, capacity=capacity)

    def cancel(self, at: datetime, reason: str | None = None) -> Slot:
        """No more sales; cancelling again keeps the first time and reason."""
        if self.is_cancelled:
            return self
        return replace(self, cancelled_at=as_utc(at), cancellation_reason=reason)

    def hold(self, seats: int) -> Slot:
        """Hold seats for a customer who is paying; refused when not enough are free, and
        on a cancelled slot (its cancellation and a hold cannot cross)."""
        require_seats(seats)
        if self.is_cancelled:
            raise SlotCancelled(self.id)
        if seats > self.seats_available:
            raise SeatsUnavailable(self.id, seats, self.seats_available)
        return replace(self, held=self.held + seats)

    def release_hold(self, seats: int) -> Slot:
        require_seats(seats)
        if seats > self.held:
            raise SlotCapacityError(f"slot {self.id} holds {self.held} seat(s), not {seats}")
        return replace(self, held=self.held - seats)

    def confirm_hold(self, seats: int) -> Slot:
        """Held seats become booked once paid."""
        return replace(self.release_hold(seats), booked=self.booked + seats)

    def book(self, seats: int) -> Slot:
        """Book seats directly (a payment that completed after its hold lapsed); refused
        when not enough are free, and on a cancelled slot."""
        require_seats(seats)
        if self.is_cancelled:
            raise SlotCancelled(self.id)
        if seats > self.seats_available:
            raise SeatsUnavailable(self.id, seats, self.seats_available)
        return replace(self, booked=self.booked + seats)

    def release_booked(self, seats: int) -> Slot:
        require_seats(seats)
        if seats > self.booked:
            raise SlotCapacityError(f"slot {self.id} has {self.booked} booked, not {seats}")
        return replace(self, booked=self.booked - seats)


def ensure_quotable(offerings: Iterable[Offering], tenant_policy: FeePolicy) -> None:
    """Every active offering must stay quotable under the policy that applies to it (its
    override, else `tenant_policy`); OfferingsNotQuotable names those that would not."""
    refused: list[tuple[str, str]] = []
    for offering in offerings:
        if offering.archived:
            continue
        reason = offering.why_not_quotable(offering.effective_fee_policy(tenant_policy))
        if reason is not None:
            refused.append((offering.id, reason))
    if refused:
        raise OfferingsNotQuotable([o for o, _ in refused], [r for _, r in refused])
