"""In-memory repositories and unit of work, for fast use-case tests.

They keep the promises of the ports, the database ones included: changes are invisible to
other units of work until committed, leaving without a commit rolls back, seat changes are
conditional, and units of work on one `InMemoryDatabase` are serialised like SQLite's
write transactions, so no hold can be lost between two of them.

    database = InMemoryDatabase()
    use_case = StartCheckout(database.unit_of_work, ...)
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from adapters.sql.pagination import decode_cursor, encode_cursor
from application.errors import NotFound
from application.ports.gateway_events import PaymentAftermath
from application.ports.repositories import AlreadyExists, BookingPage, ConcurrentUpdate, SlotForSale
from application.ports.unit_of_work import ClaimOutcome, IdempotencyClaim, StoredResponse
from domain.booking import (
    Booking,
    BookingStatus,
    PaymentStatus,
    statuses_holding_seats,
    statuses_taking_seats,
)
from domain.dispute import Dispute
from domain.events import Event
from domain.fees import FeePolicy, FeePolicyScope
from domain.ledger import EntryKind, LedgerEntry, StatementLine, statement
from domain.offering import Offering, Slot, require_seats
from domain.tenant import Tenant
from tests.fakes.events_out import InMemoryOutbox


@dataclass(frozen=True, slots=True)
class _ApiKey:
    tenant_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Claim:
    fingerprint: str
    claimed_at: datetime
    response: StoredResponse | None = None


@dataclass(slots=True)
class _Tables:
    """One consistent state of every table. Values are immutable, so copies are shallow."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    api_keys: dict[str, _ApiKey] = field(default_factory=dict)
    fee_policies: dict[tuple[str, int], FeePolicy] = field(default_factory=dict)
    # (tenant, offering, version) → the override, None where one was ended.
    fee_policy_overrides: dict[tuple[str, str, int], FeePolicy | None] = field(default_factory=dict)
    offerings: dict[tuple[str, str], Offering] = field(default_factory=dict)
    slots: dict[tuple[str, str], Slot] = field(default_factory=dict)
    bookings: dict[tuple[str, str], tuple[Booking, int]] = field(default_factory=dict)
    ledger: dict[tuple[str, str, EntryKind], LedgerEntry] = field(default_factory=dict)
    inbox: set[str] = field(default_factory=set)
    parked: dict[str, tuple[str, PaymentAftermath]] = field(default_factory=dict)
    sweep_claims: dict[tuple[str, str], datetime] = field(default_factory=dict)
    claims: dict[tuple[str, str], _Claim] = field(default_factory=dict)

    def tenant_policy(self, tenant_id: str) -> FeePolicy | None:
        versions = [v for (t, v) in self.fee_policies if t == tenant_id]
        if not versions:
            return None
        return self.fee_policies[tenant_id, max(versions)].owned_by(
            tenant_id, FeePolicyScope.TENANT
        )

    def with_override(self, offering: Offering | None) -> Offering | None:
        """The stored offering as a repository returns it: with its current override."""
        if offering is None:
            return None
        versions = [
            v
            for (t, o, v) in self.fee_policy_overrides
            if (t, o) == (offering.tenant_id, offering.id)
        ]
        policy = (
            self.fee_policy_overrides[offering.tenant_id, offering.id, max(versions)]
            if versions
            else None
        )
        if policy is not None:
            policy = policy.owned_by(offering.id, FeePolicyScope.OFFERING)
        return replace(offering, fee_policy=policy)

    def copy(self) -> _Tables:
        return _Tables(
            tenants=dict(self.tenants),
            api_keys=dict(self.api_keys),
            fee_policies=dict(self.fee_policies),
            fee_policy_overrides=dict(self.fee_policy_overrides),
            offerings=dict(self.offerings),
            slots=dict(self.slots),
            bookings=dict(self.bookings),
            ledger=dict(self.ledger),
            inbox=set(self.inbox),
            parked=dict(self.parked),
            sweep_claims=dict(self.sweep_claims),
            claims=dict(self.claims),
        )


class InMemoryDatabase:
    """The committed state shared by every unit of work made from it."""

    def __init__(self) -> None:
        self.committed = _Tables()
        # Events out, as committed (tests/fakes/events_out.py).
        self.events_out: list[Event] = []
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._owner: asyncio.Task[object] | None = None

    def unit_of_work(self) -> InMemoryUnitOfWork:
        """A fresh unit of work on this database (a `UnitOfWorkFactory`)."""
        return InMemoryUnitOfWork(self)

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise RuntimeError("a unit of work is already open in this task; nesting deadlocks")
        await self._lock.acquire()
        self._owner = task

    def _release(self) -> None:
        self._owner = None
        if self._lock is not None and self._lock.locked():
            self._lock.release()


class InMemoryTenantRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, tenant: Tenant) -> None:
        if tenant.id in self._t.tenants or await self.get_by_slug(tenant.slug) is not None:
            raise AlreadyExists(f"a tenant with id {tenant.id!r} or slug {tenant.slug!r} exists")
        self._t.tenants[tenant.id] = tenant

    async def get(self, tenant_id: str) -> Tenant | None:
        return self._t.tenants.get(tenant_id)

    async def get_by_slug(self, slug: str) -> Tenant | None:
        return next((t for t in self._t.tenants.values() if t.slug == slug), None)

    async def lock_pricing(self, tenant_id: str) -> bool:
        # Units of work on this database run one at a time: the lock is already held.
        return tenant_id in self._t.tenants

    async def update(self, tenant: Tenant) -> None:
        stored = self._t.tenants.get(tenant.id)
        if stored is None:
            raise NotFound("tenant", tenant.id)
        kept = stored.connect_as_of
        if kept is not None and (tenant.connect_as_of is None or kept > tenant.connect_as_of):
            raise ConcurrentUpdate(f"tenant {tenant.id} has a newer Connect snapshot")
        self._t.tenants[tenant.id] = tenant

    async def list(self, *, after: str | None = None, limit: int = 100) -> builtins.list[Tenant]:
        ids = sorted(i for i in self._t.tenants if after is None or i > after)
        return [self._t.tenants[i] for i in ids[:limit]]

    async def find_by_account_id(self, account_id: str) -> Tenant | None:
        return next(
            (t for t in self._t.tenants.values() if t.connect.account_id == account_id), None
        )

    async def add_api_key(
        self, tenant_id: str, key_hash: str, *, label: str, created_at: datetime
    ) -> None:
        if key_hash in self._t.api_keys:
            raise AlreadyExists("an API key with this hash exists")
        if tenant_id not in self._t.tenants:
            raise NotFound("tenant", tenant_id)
        self._t.api_keys[key_hash] = _ApiKey(tenant_id, label, created_at)

    async def find_by_api_key_hash(
        self, key_hash: str, *, now: datetime | None = None
    ) -> Tenant | None:
        key = self._t.api_keys.get(key_hash)
        moment = now or datetime.now(UTC)
        if key is None or (key.revoked_at is not None and key.revoked_at <= moment):
            return None
        return self._t.tenants.get(key.tenant_id)

    async def revoke_other_api_keys(
        self, tenant_id: str, keep_hash: str, *, revoked_at: datetime
    ) -> int:
        shortened = 0
        for key_hash, key in list(self._t.api_keys.items()):
            if key.tenant_id != tenant_id or key_hash == keep_hash:
                continue
            if key.revoked_at is None or key.revoked_at > revoked_at:
                self._t.api_keys[key_hash] = replace(key, revoked_at=revoked_at)
                shortened += 1
        return shortened

    async def revoke_api_key(self, tenant_id: str, key_hash: str, *, revoked_at: datetime) -> bool:
        key = self._t.api_keys.get(key_hash)
        if key is None or key.tenant_id != tenant_id or key.revoked_at is not None:
            return False
        self._t.api_keys[key_hash] = replace(key, revoked_at=revoked_at)
        return True

    async def add_fee_policy(self, tenant_id: str, policy: FeePolicy) -> None:
        if (tenant_id, policy.version) in self._t.fee_policies:
            raise AlreadyExists(f"fee policy version {policy.version} of tenant {tenant_id}")
        if tenant_id not in self._t.tenants:
            raise NotFound("tenant", tenant_id)
        self._t.fee_policies[tenant_id, policy.version] = policy

    async def active_fee_policy(self, tenant_id: str) -> FeePolicy | None:
        return self._t.tenant_policy(tenant_id)

    async def fee_policy(self, tenant_id: str, version: int) -> FeePolicy | None:
        policy = self._t.fee_policies.get((tenant_id, version))
        return None if policy is None else policy.owned_by(tenant_id, FeePolicyScope.TENANT)


class InMemoryOfferingRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, offering: Offering) -> None:
        key = (offering.tenant_id, offering.id)
        if key in self._t.offerings:
            raise AlreadyExists(f"offering {offering.id} exists")
        if offering.tenant_id not in self._t.tenants:
            raise NotFound("tenant", offering.tenant_id)
        self._t.offerings[key] = replace(offering, fee_policy=None)

    async def get(self, tenant_id: str, offering_id: str) -> Offering | None:
        return self._t.with_override(self._t.offerings.get((tenant_id, offering_id)))

    async def update(self, offering: Offering) -> None:
        key = (offering.tenant_id, offering.id)
        if key not in self._t.offerings:
            raise NotFound("offering", offering.id)
        self._t.offerings[key] = replace(offering, fee_policy=None)

    async def list(
        self,
        tenant_id: str,
        *,
        include_archived: bool = False,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        found = [
            o
            for (t, _), o in self._t.offerings.items()
            if t == tenant_id
            and (include_archived or not o.archived)
            and (after is None or (o.name, o.id) > after)
        ]
        ordered = sorted(found, key=lambda o: (o.name, o.id))[:limit]
        listed = [self._t.with_override(o) for o in ordered]
        return [o for o in listed if o is not None]

    async def last_fee_policy_override_version(self, tenant_id: str, offering_id: str) -> int:
        versions = [
            v for (t, o, v) in self._t.fee_policy_overrides if (t, o) == (tenant_id, offering_id)
        ]
        return max(versions, default=0)

    async def add_fee_policy_override(
        self, tenant_id: str, offering_id: str, version: int, policy: FeePolicy | None
    ) -> None:
        if (tenant_id, offering_id) not in self._t.offerings:
            raise NotFound("offering", offering_id)
        if (tenant_id, offering_id, version) in self._t.fee_policy_overrides:
            raise AlreadyExists(f"fee policy version {version} of offering {offering_id}")
        self._t.fee_policy_overrides[tenant_id, offering_id, version] = policy


class InMemorySlotRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, slot: Slot) -> None:
        key = (slot.tenant_id, slot.id)
        if key in self._t.slots:
            raise AlreadyExists(f"slot {slot.id} exists")
        if (slot.tenant_id, slot.offering_id) not in self._t.offerings:
            raise NotFound("offering", slot.offering_id)
        if await self.taken_starts(slot.tenant_id, slot.offering_id, [slot.starts_at]):
            raise AlreadyExists(f"offering {slot.offering_id} has a slot at {slot.starts_at}")
        self._t.slots[key] = slot

    async def taken_starts(
        self, tenant_id: str, offering_id: str, starts: Collection[datetime]
    ) -> set[datetime]:
        return {
            s.starts_at
            for (t, _), s in self._t.slots.items()
            if t == tenant_id and s.offering_id == offering_id and s.starts_at in starts
        }

    async def offering_has_slots(self, tenant_id: str, offering_id: str) -> bool:
        return any(
            t == tenant_id and s.offering_id == offering_id for (t, _), s in self._t.slots.items()
        )

    async def get(self, tenant_id: str, slot_id: str) -> Slot | None:
        return self._t.slots.get((tenant_id, slot_id))

    async def get_for_sale(self, tenant_slug: str, slot_id: str) -> SlotForSale | None:
        tenant = next((t for t in self._t.tenants.values() if t.slug == tenant_slug), None)
        if tenant is None:
            return None
        slot = self._t.slots.get((tenant.id, slot_id))
        offering = (
            None
            if slot is None
            else self._t.with_override(self._t.offerings.get((tenant.id, slot.offering_id)))
        )
        return SlotForSale(tenant, slot, offering, self._t.tenant_policy(tenant.id))

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
        found = [
            s
            for (t, _), s in self._t.slots.items()
            if t == tenant_id
            and s.offering_id == offering_id
            and (starts_from is None or s.starts_at >= starts_from)
            and (starts_before is None or s.starts_at < starts_before)
            and (after is None or (s.starts_at, s.id) > after)
        ]
        return sorted(found, key=lambda s: (s.starts_at, s.id))[:limit]

    def _change(self, tenant_id: str, slot_id: str, allowed: bool, changed: Slot | None) -> bool:
        if not allowed or changed is None:
            return False
        self._t.slots[tenant_id, slot_id] = changed
        return True

    async def try_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        slot = self._t.slots.get((tenant_id, slot_id))
        if slot is None or slot.is_cancelled or seats > slot.seats_available:
            return False
        return self._change(tenant_id, slot_id, True, replace(slot, held=slot.held + seats))

    async def release_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        slot = self._t.slots.get((tenant_id, slot_id))
        if slot is None or slot.held < seats:
            return False
        return self._change(tenant_id, slot_id, True, replace(slot, held=slot.held - seats))

    async def confirm_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        slot = self._t.slots.get((tenant_id, slot_id))
        if slot is None or slot.held < seats:
            return False
        changed = replace(slot, held=slot.held - seats, booked=slot.booked + seats)
        return self._change(tenant_id, slot_id, True, changed)

    async def try_book(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        slot = self._t.slots.get((tenant_id, slot_id))
        if slot is None or slot.is_cancelled or seats > slot.seats_available:
            return False
        return self._change(tenant_id, slot_id, True, replace(slot, booked=slot.booked + seats))

    async def release_booked(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        seats = require_seats(seats)
        slot = self._t.slots.get((tenant_id, slot_id))
        if slot is None or slot.booked < seats:
            return False
        return self._change(tenant_id, slot_id, True, replace(slot, booked=slot.booked - seats))

    async def resize(self, tenant_id: str, slot_id: str, capacity: int) -> bool:
        slot = self._t.slots.get((tenant_id, slot_id))
        if slot is None or slot.seats_taken > capacity:
            return False
        return self._change(tenant_id, slot_id, True, replace(slot, capacity=capacity))

    async def cancel(self, slot: Slot) -> bool:
        stored = self._t.slots.get((slot.tenant_id, slot.id))
        if stored is None or stored.is_cancelled:
            return False
        cancelled = replace(
            stored, cancelled_at=slot.cancelled_at, cancellation_reason=slot.cancellation_reason
        )
        return self._change(slot.tenant_id, slot.id, True, cancelled)

    async def cancelled_with_bookings(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        taking = statuses_taking_seats()
        open_slots = {
            (b.tenant_id, b.slot_id) for b, _ in self._t.bookings.values() if b.status in taking
        }
        found = sorted(
            key for key, slot in self._t.slots.items() if slot.is_cancelled and key in open_slots
        )
        return found[:limit]


class InMemoryBookingRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables
        self._versions: dict[tuple[str, str], int] = {}

    def _seen(self, booking: Booking, version: int) -> Booking:
        self._versions[booking.tenant_id, booking.id] = version
        return booking

    async def add(self, booking: Booking) -> None:
        key = (booking.tenant_id, booking.id)
        if key in self._t.bookings:
            raise AlreadyExists(f"booking {booking.id} exists")
        if (booking.tenant_id, booking.slot_id) not in self._t.slots:
            raise NotFound("slot", booking.slot_id)
        self._t.bookings[key] = (booking, 1)
        self._seen(booking, 1)

    async def count_pending_for_customer(self, tenant_id: str, email: str) -> int:
        return sum(
            1
            for (tenant, _), (booking, _) in self._t.bookings.items()
            if tenant == tenant_id
            and booking.status is BookingStatus.PENDING_PAYMENT
            and booking.customer.email.lower() == email.lower()
        )

    async def add_holding_seats(self, booking: Booking) -> bool:
        slots = InMemorySlotRepository(self._t)
        if not await slots.try_hold(booking.tenant_id, booking.slot_id, booking.seats):
            return False
        await self.add(booking)
        return True

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        stored = self._t.bookings.get((tenant_id, booking_id))
        return None if stored is None else self._seen(*stored)

    async def on_slot(self, tenant_id: str, slot_id: str) -> builtins.list[Booking]:
        taking = statuses_taking_seats()
        found = sorted(
            (
                (b, v)
                for b, v in self._t.bookings.values()
                if b.tenant_id == tenant_id and b.slot_id == slot_id and b.status in taking
            ),
            key=lambda bv: (bv[0].created_at, bv[0].id),
        )
        return [self._seen(b, v) for b, v in found]

    async def update(self, booking: Booking) -> None:
        key = (booking.tenant_id, booking.id)
        stored = self._t.bookings.get(key)
        if stored is None:
            raise NotFound("booking", booking.id)
        read_at = self._versions.get(key)
        if read_at is not None and read_at != stored[1]:
            raise ConcurrentUpdate(f"booking {booking.id} changed since it was read")
        self._t.bookings[key] = (booking, stored[1] + 1)
        self._seen(booking, stored[1] + 1)

    async def attach_session(self, tenant_id: str, booking_id: str, session_id: str) -> bool:
        stored = self._t.bookings.get((tenant_id, booking_id))
        if stored is None:
            return False
        booking, version = stored
        pending = booking.status is BookingStatus.PENDING_PAYMENT
        if not pending or booking.gateway_session_id is not None:
            return False
        self._t.bookings[tenant_id, booking_id] = (booking.attach_session(session_id), version + 1)
        return True

    async def find_by_id(self, booking_id: str) -> Booking | None:
        for booking, version in self._t.bookings.values():
            if booking.id == booking_id:
                return self._seen(booking, version)
        return None

    async def find_by_gateway_session(self, session_id: str) -> Booking | None:
        for booking, version in self._t.bookings.values():
            if booking.gateway_session_id == session_id:
                return self._seen(booking, version)
        return None

    async def find_by_payment_intent(self, payment_intent_id: str) -> Booking | None:
        for booking, version in self._t.bookings.values():
            if booking.payment_intent_id == payment_intent_id:
                return self._seen(booking, version)
        return None

    def _lapsed(self, before: datetime) -> builtins.list[tuple[Booking, int]]:
        return [
            (b, v)
            for b, v in self._t.bookings.values()
            if b.status in statuses_holding_seats() and b.hold_expires_at < before
        ]

    async def claim_lapsed_holds(
        self,
        tenant_id: str,
        before: datetime,
        *,
        now: datetime,
        claim_until: datetime,
        limit: int = 100,
    ) -> builtins.list[Booking]:
        claims = self._t.sweep_claims
        found = sorted(
            (
                (b, v)
                for b, v in self._lapsed(before)
                if b.tenant_id == tenant_id and claims.get((b.tenant_id, b.id), now) <= now
            ),
            key=lambda bv: (bv[0].hold_expires_at, bv[0].id),
        )[:limit]
        for booking, _ in found:
            claims[booking.tenant_id, booking.id] = claim_until
        return [self._seen(b, v) for b, v in found]

    async def with_refunds_due(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        found = sorted(
            key
            for key, (booking, _) in self._t.bookings.items()
            if booking.unknown_refunds or booking.owes_system_refund
        )
        return found[:limit]

    async def tenants_with_lapsed_holds(self, before: datetime) -> builtins.list[str]:
        return sorted({b.tenant_id for b, _ in self._lapsed(before)})

    async def list(
        self,
        tenant_id: str,
        *,
        statuses: Collection[BookingStatus] = (),
        payment_statuses: Collection[PaymentStatus] = (),
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> BookingPage:
        after = decode_cursor(cursor) if cursor is not None else None
        wanted = {BookingStatus(s) for s in statuses}
        paid_as = {PaymentStatus(s) for s in payment_statuses}
        found = sorted(
            (
                (b, v)
                for b, v in self._t.bookings.values()
                if b.tenant_id == tenant_id
                and (not wanted or b.status in wanted)
                and (not paid_as or b.payment_status in paid_as)
                and (created_from is None or b.created_at >= created_from)
                and (created_before is None or b.created_at < created_before)
                and (starts_from is None or b.starts_at >= starts_from)
                and (starts_before is None or b.starts_at < starts_before)
                and (after is None or (b.created_at, b.id) < after)
            ),
            key=lambda bv: (bv[0].created_at, bv[0].id),
            reverse=True,
        )
        page = [self._seen(b, v) for b, v in found[:limit]]
        next_cursor = (
            encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit else None
        )
        return BookingPage(items=tuple(page), next_cursor=next_cursor)


class InMemoryLedgerRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, entry: LedgerEntry) -> bool:
        key = (entry.tenant_id, entry.gateway_ref, entry.kind)
        if key in self._t.ledger:
            return False
        if (entry.tenant_id, entry.booking_id) not in self._t.bookings:
            raise NotFound("booking", entry.booking_id)
        self._t.ledger[key] = entry
        return True

    async def add_all(self, entries: Iterable[LedgerEntry]) -> builtins.list[bool]:
        return [await self.add(entry) for entry in entries]

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[LedgerEntry]:
        found = [
            e
            for e in self._t.ledger.values()
            if e.tenant_id == tenant_id and e.booking_id == booking_id
        ]
        kinds = list(EntryKind)
        return sorted(found, key=lambda e: (e.created_at, kinds.index(e.kind), e.gateway_ref))

    async def statement(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        currency: str | None = None,
    ) -> list[StatementLine]:
        return statement(
            e
            for e in self._t.ledger.values()
            if e.tenant_id == tenant_id
            and (since is None or e.created_at >= since)
            and (until is None or e.created_at < until)
            and (currency is None or e.amount.currency == currency)
        )


class InMemoryDisputeRepository:
    """Reads the disputes stored with their bookings."""

    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    def _all(self) -> builtins.list[Dispute]:
        return [d for booking, _ in self._t.bookings.values() for d in booking.disputes]

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[Dispute]:
        found = [d for d in self._all() if d.tenant_id == tenant_id and d.booking_id == booking_id]
        return sorted(found, key=lambda d: (d.created_at, d.dispute_id))

    async def with_pending_recoveries(self, *, limit: int = 100) -> list[tuple[str, str]]:
        found = {
            (d.tenant_id, d.booking_id)
            for d in self._all()
            if d.recovery is not None and d.recovery.pending
        }
        return sorted(found)[:limit]


class InMemoryWebhookInbox:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def record(self, event_id: str) -> bool:
        if event_id in self._t.inbox:
            return False
        self._t.inbox.add(event_id)
        return True


class InMemoryParkedEvents:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def park(self, payment_intent_id: str, event: PaymentAftermath) -> bool:
        if event.event_id in self._t.parked:
            return False
        self._t.parked[event.event_id] = (payment_intent_id, event)
        return True

    async def take(self, payment_intent_id: str) -> list[PaymentAftermath]:
        taken = [e for pi, e in self._t.parked.values() if pi == payment_intent_id]
        for event in taken:
            del self._t.parked[event.event_id]
        return sorted(taken, key=lambda e: (e.created_at, e.event_id))

    async def discard(self, created_before: datetime) -> builtins.list[str]:
        stale = [i for i, (_, e) in self._t.parked.items() if e.created_at < created_before]
        for event_id in stale:
            del self._t.parked[event_id]
        return sorted(stale)


class InMemoryIdempotencyStore:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime | None = None,
        stale_before: datetime | None = None,
    ) -> IdempotencyClaim:
        now = now or datetime.now(UTC)
        existing = self._t.claims.get((scope, key))
        if existing is None:
            self._t.claims[scope, key] = _Claim(fingerprint, claimed_at=now)
            return IdempotencyClaim(ClaimOutcome.CLAIMED)
        if existing.fingerprint != fingerprint:
            return IdempotencyClaim(ClaimOutcome.MISMATCH)
        if existing.response is None:
            if stale_before is not None and existing.claimed_at < stale_before:
                self._t.claims[scope, key] = replace(existing, claimed_at=now)
                return IdempotencyClaim(ClaimOutcome.CLAIMED)
            return IdempotencyClaim(ClaimOutcome.IN_PROGRESS)
        return IdempotencyClaim(ClaimOutcome.REPLAY, existing.response)

    async def store_response(self, scope: str, key: str, response: StoredResponse) -> None:
        existing = self._t.claims.get((scope, key))
        if existing is None:
            raise NotFound("idempotency key", key)
        if existing.response is None:
            self._t.claims[scope, key] = replace(existing, response=response)

    async def release(self, scope: str, key: str) -> None:
        existing = self._t.claims.get((scope, key))
        if existing is not None and existing.response is None:
            del self._t.claims[scope, key]

    async def purge(self, created_before: datetime) -> int:
        old = [k for k, claim in self._t.claims.items() if claim.claimed_at < created_before]
        for k in old:
            del self._t.claims[k]
        return len(old)


class InMemoryUnitOfWork:
    """A working copy of the database's tables, published by `commit()`."""

    def __init__(self, database: InMemoryDatabase | None = None) -> None:
        self.database = database or InMemoryDatabase()
        self.commits = 0
        self._working: _Tables | None = None

    def _open(self) -> None:
        tables = self._working = self.database.committed.copy()
        self._tenants = InMemoryTenantRepository(tables)
        self._offerings = InMemoryOfferingRepository(tables)
        self._slots = InMemorySlotRepository(tables)
        self._bookings = InMemoryBookingRepository(tables)
        self._ledger = InMemoryLedgerRepository(tables)
        self._disputes = InMemoryDisputeRepository(tables)
        self._inbox = InMemoryWebhookInbox(tables)
        self._parked = InMemoryParkedEvents(tables)
        self._idempotency = InMemoryIdempotencyStore(tables)
        self._outbox = InMemoryOutbox()

    def _active(self) -> _Tables:
        if self._working is None:
            raise RuntimeError("use the unit of work inside `async with uow:`")
        return self._working

    def single_write(self) -> Self:
        """Nothing to save here: the unit of work stays a transaction (which keeps the
        promise: one write, committed by `commit()`)."""
        if self._working is not None:
            raise RuntimeError("single_write() comes before `async with`")
        return self

    async def __aenter__(self) -> Self:
        if self._working is not None:
            raise RuntimeError("this unit of work is already in use; take a fresh one")
        await self.database._acquire()
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._working = None
        self.database._release()

    async def commit(self) -> None:
        working = self._active()
        self.database.committed = working
        self.database.events_out.extend(self._outbox.pending)
        self.commits += 1
        versions = self._bookings._versions
        self._open()
        self._bookings._versions = versions

    async def rollback(self) -> None:
        self._active()
        self._open()

    @property
    def tenants(self) -> InMemoryTenantRepository:
        self._active()
        return self._tenants

    @property
    def offerings(self) -> InMemoryOfferingRepository:
        self._active()
        return self._offerings

    @property
    def slots(self) -> InMemorySlotRepository:
        self._active()
        return self._slots

    @property
    def bookings(self) -> InMemoryBookingRepository:
        self._active()
        return self._bookings

    @property
    def ledger(self) -> InMemoryLedgerRepository:
        self._active()
        return self._ledger

    @property
    def disputes(self) -> InMemoryDisputeRepository:
        self._active()
        return self._disputes

    @property
    def webhook_inbox(self) -> InMemoryWebhookInbox:
        self._active()
        return self._inbox

    @property
    def parked_events(self) -> InMemoryParkedEvents:
        self._active()
        return self._parked

    @property
    def idempotency(self) -> InMemoryIdempotencyStore:
        self._active()
        return self._idempotency

    @property
    def outbox(self) -> InMemoryOutbox:
        self._active()
        return self._outbox
