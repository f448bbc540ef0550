"""Persistence ports for the catalogue: tenants (with their keys and fee policies), country
codes, offerings and slots.

Every tenant-owned read and write takes the tenant (see the note below).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.fees import FeePolicy
from domain.offering import Offering, Slot
from domain.tenant import Tenant


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
        """Those of `starts` at which the offering already has a slot not cancelled (UTC):
        a cancelled slot frees its start."""
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
