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
    InvalidSlotCount,
    NewOfferingNotQuotable,
    OfferingArchived,
    OfferingCurrencyFixed,
    OfferingsNotQuotable,
    SeatsUnavailable,
    SlotAlreadyStarted,
    SlotCancelled,
    SlotCapacityError,
    TooManySeatsPerBooking,
)
from domain.fee_quote import FeeQuote
from domain.fees import FeePolicy, policy_or_no_fee
from domain.money import Money, maximum_charge, minimum_charge

# The bounds of what can be sold, checked here and shown in the API's schema.
MAX_CAPACITY = 100_000
MAX_DURATION_MINUTES = 60 * 24 * 31
# The most seats any one booking may take, whatever an offering allows itself: the ceiling
# the API has always set on one checkout or quote.
MAX_SEATS_PER_BOOKING = 1_000
# The most slots one request may open at once, so that one request stays one short
# transaction.
MAX_SLOTS_PER_REQUEST = 500
# Seats one booking may take when the offering names no maximum of its own, so that one
# anonymous checkout cannot hold every seat of a large slot. A tenant who sells whole slots
# at once sets the offering's max_seats_per_booking (up to its capacity); the platform may
# change this default (BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING).
DEFAULT_MAX_SEATS_PER_BOOKING = 10


def unpaid_hold_share(capacity: int) -> int:
    """The most seats of a slot of `capacity` one unpaid hold may take when the offering
    names no maximum of its own: half, rounded up, never less than one. A typical class
    (8 or 10 seats) is below the default cap, which alone let one anonymous checkout hold
    every seat of it for the length of a hold; with half, one checkout never can (but a
    slot of one seat, which one customer must be able to book)."""
    return max(1, (capacity + 1) // 2)


def require_seats(seats: object) -> int:
    """`seats` when it is a whole number >= 1 (a count of seats moved), else
    InvalidSeatCount."""
    if isinstance(seats, bool) or not isinstance(seats, int) or seats < 1:
        raise InvalidSeatCount(seats)
    return seats


def require_booking_seats(seats: object) -> int:
    """`seats` when one booking may take that many: 1 to MAX_SEATS_PER_BOOKING, else
    InvalidSeatCount."""
    count = require_seats(seats)
    if count > MAX_SEATS_PER_BOOKING:
        raise InvalidSeatCount(seats, MAX_SEATS_PER_BOOKING)
    return count


def require_slot_count(count: int) -> int:
    """`count` when one request may open that many slots: 1 to MAX_SLOTS_PER_REQUEST,
    else InvalidSlotCount."""
    if not 1 <= count <= MAX_SLOTS_PER_REQUEST:
        raise InvalidSlotCount(count, MAX_SLOTS_PER_REQUEST)
    return count


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
            raise InvalidOffering(f"duration_minutes must be between 1 and {MAX_DURATION_MINUTES}")
        _require_capacity(self.capacity)
        if self.max_seats_per_booking is not None:
            _require_capacity(self.max_seats_per_booking)

    def ensure_sellable(self) -> None:
        """Checked on every create and update (rows stored earlier still load): InvalidOffering
        when one seat's `price` is below Stripe's minimum charge in its currency (Stripe
        would refuse a checkout of one seat: https://docs.stripe.com/currencies#minimum-and-
        maximum-charge-amounts).

        `max_seats_per_booking` may exceed `capacity`: a slot's own capacity can be raised
        above the offering's (PATCH /v1/tenant/slots/{id}), and the seats a slot has left
        bound every checkout anyway (SeatsUnavailable)."""
        least = Money(minimum_charge(self.price.currency), self.price.currency)
        if self.price < least:
            raise InvalidOffering(
                f"price: the price per seat must be at least {least}, Stripe's minimum "
                f"charge in {self.price.currency}"
            )

    def ensure_bookable(self) -> None:
        if self.archived:
            raise OfferingArchived(self.id)

    def seats_per_booking_limit(
        self,
        platform_default: int = DEFAULT_MAX_SEATS_PER_BOOKING,
        slot_capacity: int | None = None,
    ) -> int:
        """The most seats one booking may take, never above MAX_SEATS_PER_BOOKING: the
        offering's own maximum when it sets one; else `platform_default` (a whole number
        >= 1) or the `unpaid_hold_share` of the slot, whichever is smaller. The slot is the
        one booked (`slot_capacity`, which a tenant may resize), or without one a slot of
        the offering's `capacity` (a quote before a slot is chosen). The seats a slot has
        left are checked when they are held."""
        own = self.max_seats_per_booking
        if own is None:
            share = unpaid_hold_share(self.capacity if slot_capacity is None else slot_capacity)
            own = min(platform_default, share)
        return min(own, MAX_SEATS_PER_BOOKING)

    def ensure_seats_per_booking(
        self,
        seats: int,
        platform_default: int = DEFAULT_MAX_SEATS_PER_BOOKING,
        slot_capacity: int | None = None,
    ) -> None:
        """Refuse a booking of more seats than the offering sells at once
        (TooManySeatsPerBooking, `seats_per_booking_limit`), so no single checkout holds
        every seat of a slot; InvalidSeatCount when `seats` is not a whole number >= 1."""
        require_seats(seats)
        limit = self.seats_per_booking_limit(platform_default, slot_capacity)
        if seats > limit:
            raise TooManySeatsPerBooking(self.id, seats, limit)

    def archive(self) -> Offering:
        return replace(self, archived=True)

    def effective_fee_policy(self, tenant_policy: FeePolicy | None) -> FeePolicy:
        """The platform's override for this offering when it has one, else the tenant's
        policy, else no fee (`policy_or_no_fee`)."""
        return self.fee_policy or policy_or_no_fee(tenant_policy)

    def quote(
        self,
        seats: int,
        tenant_policy: FeePolicy | None,
        platform_default: int = DEFAULT_MAX_SEATS_PER_BOOKING,
    ) -> FeeQuote:
        """What `seats` seats cost under the policy that applies (`effective_fee_policy`):
        only for as many seats as one checkout may take (`ensure_seats_per_booking`) of a
        slot of the offering's capacity.

        InvalidSeatCount outside 1 to MAX_SEATS_PER_BOOKING; TooManySeatsPerBooking above
        `seats_per_booking_limit`; CurrencyMismatch, BelowMinimumCharge, AboveMaximumCharge
        as FeePolicy.quote raises them.
        """
        seats = require_booking_seats(seats)
        self.ensure_seats_per_booking(seats, platform_default)
        return self.effective_fee_policy(tenant_policy).quote(self.price, seats)

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

    The `can_*` predicates and the moves below (`hold`, `book`, `confirm_hold`,
    `release_hold`, `release_booked`, `resize`) are the one statement of the seat
    arithmetic: the in-memory repositories call them, and the SQL repositories do the same
    moves with one atomic conditional statement each, which the shared contract tests
    hold to these rules.
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

    # --- the seat arithmetic -------------------------------------------------------------

    def can_hold(self, seats: int) -> bool:
        """Whether `seats` more can be held: the slot is still on sale and they are free.
        InvalidSeatCount when `seats` is not a whole number >= 1."""
        return not self.is_cancelled and require_seats(seats) <= self.seats_available

    def can_release_hold(self, seats: int) -> bool:
        """Whether `seats` are held, to be given back or confirmed."""
        return require_seats(seats) <= self.held

    def can_confirm_hold(self, seats: int) -> bool:
        """Whether `seats` are held, to become booked once paid."""
        return self.can_release_hold(seats)

    def can_release_booked(self, seats: int) -> bool:
        """Whether `seats` are booked, to be given back (a cancellation)."""
        return require_seats(seats) <= self.booked

    def can_resize(self, capacity: int) -> bool:
        """Whether the seats held and booked now fit in `capacity`."""
        return self.seats_taken <= _require_capacity(capacity)

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
        if not self.can_resize(capacity):
            raise CapacityBelowSeatsTaken(self.id, capacity, self.seats_taken)
        return replace(self, capacity=capacity)

    def ensure_resizable_at(self, now: datetime) -> None:
        """A slot's capacity changes until it starts: SlotAlreadyStarted after (its seats
        are history), SlotCancelled once cancelled."""
        if self.is_cancelled:
            raise SlotCancelled(self.id)
        if self.starts_at <= as_utc(now):
            raise SlotAlreadyStarted(self.id, "resized")

    def cancel(self, at: datetime, reason: str | None = None) -> Slot:
        """No more sales; cancelling again keeps the first time and reason (and finishes
        what is left, even after the start). A slot that started before it was cancelled
        cannot be cancelled (SlotAlreadyStarted): its class took place."""
        if self.is_cancelled:
            return self
        if self.starts_at <= as_utc(at):
            raise SlotAlreadyStarted(self.id, "cancelled")
        return replace(self, cancelled_at=as_utc(at), cancellation_reason=reason)

    def hold(self, seats: int) -> Slot:
        """Hold seats for a customer who is paying: SlotCancelled once the slot is
        cancelled, SeatsUnavailable when not enough are free."""
        self.require_free(seats)
        return replace(self, held=self.held + seats)

    def release_hold(self, seats: int) -> Slot:
        """Give held seats back; SlotCapacityError when fewer are held."""
        if not self.can_release_hold(seats):
            raise SlotCapacityError(f"slot {self.id} holds {self.held} seat(s), not {seats}")
        return replace(self, held=self.held - seats)

    def confirm_hold(self, seats: int) -> Slot:
        """Held seats become booked once paid; SlotCapacityError when fewer are held."""
        if not self.can_confirm_hold(seats):
            raise SlotCapacityError(f"slot {self.id} holds {self.held} seat(s), not {seats}")
        return replace(self, held=self.held - seats, booked=self.booked + seats)

    def book(self, seats: int) -> Slot:
        """Book seats directly (a payment that completed after its hold lapsed); refused
        as `hold` refuses."""
        self.require_free(seats)
        return replace(self, booked=self.booked + seats)

    def release_booked(self, seats: int) -> Slot:
        """Give booked seats back; SlotCapacityError when fewer are booked."""
        if not self.can_release_booked(seats):
            raise SlotCapacityError(f"slot {self.id} has {self.booked} booked, not {seats}")
        return replace(self, booked=self.booked - seats)

    def require_free(self, seats: int) -> None:
        """SlotCancelled once the slot is cancelled, SeatsUnavailable when fewer than
        `seats` are free (`can_hold`); nothing otherwise."""
        if self.can_hold(seats):
            return
        if self.is_cancelled:
            raise SlotCancelled(self.id)
        raise SeatsUnavailable(self.id, seats, self.seats_available)


def ensure_quotable(
    offerings: Iterable[Offering], tenant_policy: FeePolicy | None, *, unsaved: bool = False
) -> None:
    """Every active offering must stay quotable under the policy that applies to it (its
    override, else `tenant_policy`, else no fee); OfferingsNotQuotable names those that
    would not. For one `unsaved` offering (being created) NewOfferingNotQuotable says why,
    without the id it was never stored under."""
    refused: list[tuple[str, str]] = []
    for offering in offerings:
        if offering.archived:
            continue
        reason = offering.why_not_quotable(offering.effective_fee_policy(tenant_policy))
        if reason is not None:
            refused.append((offering.id, reason))
    if refused and unsaved:
        raise NewOfferingNotQuotable("; ".join(r for _, r in refused))
    if refused:
        raise OfferingsNotQuotable([o for o, _ in refused], [r for _, r in refused])
