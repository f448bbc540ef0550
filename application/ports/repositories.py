"""Persistence ports for the aggregates: tenants, offerings, slots, bookings, ledger, disputes.

Every tenant-owned read and write takes the tenant (see the note below).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.errors import ApplicationError, Conflict
from domain.booking import Booking, BookingStatus
from domain.booking import PaymentStatus as BookingPaymentStatus
from domain.dispute import Dispute
from domain.fees import FeePolicy
from domain.ledger import LedgerEntry, StatementLine
from domain.offering import Offering, Slot
from domain.tenant import Tenant

# --- Persistence ---------------------------------------------------------------------
# Every tenant-owned read and write takes the tenant. The only lookups without one are
# by identifiers the outside world hands us and that are globally unique (an API key's
# hash, a gateway account, session or payment id, the booking id a customer's link
# carries): that is how a request or a webhook finds its tenant in the first place.


class AlreadyExists(Conflict):
    """A record with the same identity is already stored."""


class ConcurrentUpdate(Conflict):
    """The record changed since this unit of work read it; roll back, retry with a fresh one."""


class InvalidCursor(ApplicationError):
    """A page cursor that this server did not hand out."""


class TenantRepository(Protocol):
    """Tenants, their API-key hashes and their fee-policy versions."""

    async def add(self, tenant: Tenant) -> None:
        """Store a new tenant; AlreadyExists when the id or the slug is taken."""
        ...

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant with this id, or None."""
        ...

    async def get_by_slug(self, slug: str) -> Tenant | None:
        """The tenant with this slug, or None."""
        ...

    async def lock_pricing(self, tenant_id: str) -> bool:
        """Take the tenant's pricing lock until this unit of work ends; False when there is
        no such tenant. Writes that decide how its offerings are priced (fee policies,
        overrides, offering prices) take it first, so each checks what the others committed
        and two of them can never together leave an offering unquotable."""
        ...

    async def update(self, tenant: Tenant) -> None:
        """Save a changed tenant; NotFound when it was never added; ConcurrentUpdate when a
        newer Connect snapshot (`connect_as_of`) was stored since the tenant was read."""
        ...

    async def list(self, *, after: str | None = None, limit: int = 100) -> list[Tenant]:
        """Tenants ordered by id, the page after the id `after`."""
        ...

    async def find_by_account_id(self, account_id: str) -> Tenant | None:
        """The tenant whose connected gateway account this is (for Connect webhooks)."""
        ...

    async def add_api_key(
        self, tenant_id: str, key_hash: str, *, label: str, created_at: datetime
    ) -> None:
        """Store the hash of a new API key of the tenant; AlreadyExists on a duplicate hash."""
        ...

    async def find_by_api_key_hash(
        self, key_hash: str, *, now: datetime | None = None
    ) -> Tenant | None:
        """The tenant owning an API key with this hash that is not revoked at `now` (a key
        may be revoked from a moment in the future on: a grace period), or None."""
        ...

    async def revoke_other_api_keys(
        self, tenant_id: str, keep_hash: str, *, revoked_at: datetime
    ) -> int:
        """End every key of the tenant but `keep_hash` at `revoked_at` (or earlier, when it
        already ends earlier); how many keys this shortened."""
        ...

    async def add_fee_policy(self, tenant_id: str, policy: FeePolicy) -> None:
        """Store a new version of the tenant's fee policy; AlreadyExists if the version is."""
        ...

    async def active_fee_policy(self, tenant_id: str) -> FeePolicy | None:
        """The tenant's newest fee-policy version, which applies to new bookings."""
        ...


class CountryCodes(Protocol):
    """The ISO 3166-1 list of countries."""

    def is_country(self, alpha_2: str) -> bool:
        """Whether `alpha_2` (upper case) is an assigned ISO 3166-1 alpha-2 code."""
        ...


class OfferingRepository(Protocol):
    """A tenant's offerings."""

    async def add(self, offering: Offering) -> None:
        """Store a new offering; AlreadyExists when its id is taken."""
        ...

    async def get(self, tenant_id: str, offering_id: str) -> Offering | None:
        """The tenant's offering with this id, or None."""
        ...

    async def update(self, offering: Offering) -> None:
        """Save a changed offering; NotFound when it was never added."""
        ...

    async def list(
        self,
        tenant_id: str,
        *,
        include_archived: bool = False,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        """The tenant's offerings ordered by name, then id: at most `limit` of them (all
        when None), those after the (name, id) `after` (a page's last offering)."""
        ...

    async def last_fee_policy_override_version(self, tenant_id: str, offering_id: str) -> int:
        """The newest version of the platform's override for this offering (one ended by
        a removal included); 0 when it never had one."""
        ...

    async def add_fee_policy_override(
        self, tenant_id: str, offering_id: str, version: int, policy: FeePolicy | None
    ) -> None:
        """Store version `version` of the offering's override: `policy`, or None to go
        back to the tenant's policy. The offering reads it as `fee_policy` from then on;
        `update` never changes it. AlreadyExists when the version is taken."""
        ...


@dataclass(frozen=True, slots=True)
class SlotForSale:
    """A tenant and one of its slots, read together with what selling a seat needs."""

    tenant: Tenant
    slot: Slot | None  # None when the tenant has no slot with this id
    offering: Offering | None  # the slot's offering; None without a slot (or offering)
    active_fee_policy: FeePolicy | None  # the tenant's newest version, None if it has none


class SlotRepository(Protocol):
    """Slots and their seats; every seat change is one atomic conditional statement."""

    async def add(self, slot: Slot) -> None:
        """Store a new slot; AlreadyExists when its id, or its offering's start time, is
        taken (one slot per start time per offering)."""
        ...

    async def taken_starts(
        self, tenant_id: str, offering_id: str, starts: Collection[datetime]
    ) -> set[datetime]:
        """Those of `starts` at which the offering already has a slot (UTC)."""
        ...

    async def offering_has_slots(self, tenant_id: str, offering_id: str) -> bool:
        """Whether the offering has any slot, past or future."""
        ...

    async def get(self, tenant_id: str, slot_id: str) -> Slot | None:
        """The tenant's slot with this id, with its current seat counts, or None."""
        ...

    async def list_for_offering(
        self,
        tenant_id: str,
        offering_id: str,
        *,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[Slot]:
        """The offering's slots starting in [starts_from, starts_before), by start time,
        then id: at most `limit` (all when None), those after the (starts_at, id) `after`."""
        ...

    async def get_for_sale(self, tenant_slug: str, slot_id: str) -> SlotForSale | None:
        """What selling seats of a slot needs: the tenant with this slug, its slot, the
        slot's offering (with its override) and the tenant's active fee policy, as
        `TenantRepository.get_by_slug`, `get`, `OfferingRepository.get` and
        `TenantRepository.active_fee_policy` would read them; None when no tenant has this
        slug."""
        ...

    async def try_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Hold seats where `Slot.hold` allows it (they fit, the slot is not cancelled),
        atomically; False otherwise. The other seat changes below likewise follow their
        `Slot` method, each one atomic."""
        ...

    async def release_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Give held seats back; False when fewer than `seats` are held."""
        ...

    async def confirm_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Turn held seats into booked ones; False when fewer than `seats` are held."""
        ...

    async def try_book(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Book seats directly (a late payment) if they fit in capacity; False otherwise."""
        ...

    async def release_booked(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Give booked seats back; False when fewer than `seats` are booked."""
        ...

    async def resize(self, tenant_id: str, slot_id: str, capacity: int) -> bool:
        """Set the slot's capacity where `Slot.resize` allows it (the seats held and booked
        fit in it, the slot is not cancelled), atomically; False otherwise, or when there is
        no such slot."""
        ...

    async def cancel(self, slot: Slot) -> bool:
        """Store that `slot` (with its cancelled_at and reason) is cancelled, once: False
        when it already was, or there is no such slot. Holds are refused from then on."""
        ...

    async def cancelled_with_bookings(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant_id, slot_id) of cancelled slots that still have bookings holding or
        booking seats: a cancellation that did not finish."""
        ...


@dataclass(frozen=True, slots=True)
class BookingPage:
    """One page of bookings, newest first; `next_cursor` is None on the last page."""

    items: tuple[Booking, ...]
    next_cursor: str | None


class BookingRepository(Protocol):
    """A tenant's bookings; an update of a booking changed meanwhile is a ConcurrentUpdate."""

    async def add(self, booking: Booking) -> None:
        """Store a new booking; AlreadyExists when its id is taken."""
        ...

    async def count_pending_for_customer(self, tenant_id: str, email: str) -> int:
        """How many of the tenant's bookings still hold seats unpaid (pending_payment) for
        this customer email, compared without regard to case."""
        ...

    async def add_holding_seats(self, booking: Booking) -> bool:
        """Store a new pending booking together with the hold on its seats: both or neither.

        The hold is `SlotRepository.try_hold`'s: False, holding and storing nothing, when
        the seats do not fit (or the slot is cancelled). AlreadyExists, holding nothing,
        when the booking's id is taken. Atomic by itself (see `UnitOfWork.single_write`).
        """
        ...

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        """The tenant's booking with this id, or None."""
        ...

    async def update(self, booking: Booking) -> None:
        """Save a changed booking; ConcurrentUpdate when it changed since it was read."""
        ...

    async def attach_session(self, tenant_id: str, booking_id: str, session_id: str) -> bool:
        """Attach the checkout session to the booking where `Booking.attach_session` allows
        it and it changes the booking (pending payment, no session yet); atomic by itself.

        A change of the booking: a copy read before it is then a ConcurrentUpdate. False,
        changing nothing, when the booking is missing, no longer pending payment, or
        already has a session (this one or another).
        """
        ...

    async def on_slot(self, tenant_id: str, slot_id: str) -> list[Booking]:
        """The slot's bookings that still hold or book seats, oldest first."""
        ...

    async def find_by_id(self, booking_id: str) -> Booking | None:
        """A booking by its id alone (ids are global), for its customer's token link."""
        ...

    async def find_by_gateway_session(self, session_id: str) -> Booking | None:
        """The booking a checkout session was opened for (session ids are global)."""
        ...

    async def find_by_payment_intent(self, payment_intent_id: str) -> Booking | None:
        """The booking a payment belongs to (payment ids are global)."""
        ...

    async def claim_lapsed_holds(
        self,
        tenant_id: str,
        as_of: datetime,
        *,
        now: datetime,
        claim_until: datetime,
        limit: int = 100,
    ) -> list[Booking]:
        """Claim the tenant's bookings whose hold has lapsed at `as_of`, oldest hold first.

        A hold has lapsed when `Booking.hold_lapsed(as_of)` says so: it still holds seats
        and `as_of` is at or after its end.

        Each booking returned is claimed for the caller until `claim_until`; bookings that
        another caller's claim covers at `now` are skipped, not waited for. So sweepers in
        several processes share the work instead of each asking the gateway about every
        hold. A claim is not a lock: it never blocks a webhook, and it ends by itself.
        """
        ...

    async def tenants_with_lapsed_holds(self, as_of: datetime) -> list[str]:
        """Ids of the tenants with bookings whose hold has lapsed at `as_of` (as in
        `claim_lapsed_holds`), ordered."""
        ...

    async def with_refunds_due(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant id, booking id) of bookings whose refunds have not converged yet.

        Those with a refund reserved but not confirmed by the gateway (Booking.unknown_refunds),
        and those the system cancelled that are not refunded in full yet, not even by a
        reservation (Booking.owes_system_refund). Ordered by the pair; across tenants.
        """
        ...

    # `list` comes last: in the class body below it, `list[...]` would name this method.
    async def list(
        self,
        tenant_id: str,
        *,
        statuses: Collection[BookingStatus] = (),
        payment_statuses: Collection[BookingPaymentStatus] = (),
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> BookingPage:
        """The tenant's bookings matching every filter given, newest first, one page."""
        ...


class LedgerRepository(Protocol):
    """Ledger entries, each recorded once per (gateway_ref, kind)."""

    async def add(self, entry: LedgerEntry) -> bool:
        """Record an entry; False (and nothing stored) when its gateway_ref+kind already is."""
        ...

    async def add_all(self, entries: Iterable[LedgerEntry]) -> list[bool]:
        """Record several entries with one write, each as `add` would; one flag per entry.

        False (and nothing stored for it) where the entry's gateway_ref+kind already is
        recorded, or appears earlier in the same call.
        """
        ...

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[LedgerEntry]:
        """The booking's entries, oldest first (charge before fee before refunds at a tie)."""
        ...

    async def statement(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        currency: str | None = None,
    ) -> list[StatementLine]:
        """The tenant's entries created in [since, until) summed per currency."""
        ...


class DisputeRepository(Protocol):
    """Disputes of bookings' payments, each recorded once by its gateway id.

    They are written with their booking (`BookingRepository.update` stores the booking's
    disputes); this port reads them across bookings.
    """

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[Dispute]:
        """The booking's disputes, oldest first."""
        ...

    async def with_pending_recoveries(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant id, booking id) of bookings with a lost dispute's recovery reserved but
        not yet confirmed by the gateway."""
        ...
