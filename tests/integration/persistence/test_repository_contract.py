"""The repository contract: every adapter of the persistence ports keeps these promises.

Each test runs on the in-memory fakes, on SQLite and on PostgreSQL (see `backend`).
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from application.errors import NotFound
from application.ports.gateway_events import ChargeRefunded, DisputeCreated, RefundRecord
from application.ports.repositories import AlreadyExists, ConcurrentUpdate, InvalidCursor
from application.ports.unit_of_work import ClaimOutcome, StoredResponse
from domain.booking import Booking, BookingStatus, CancelledBy, PaymentStatus, Refund
from domain.cancellation import RefundSplit
from domain.dispute import (
    Dispute,
    DisputeBearer,
    DisputeSnapshot,
    DisputeStatus,
    Party,
    Recovery,
)
from domain.errors import InvalidSeatCount
from domain.fees import FeePolicy, FeePolicyRef, FeePolicyScope, FeeQuote
from domain.ledger import EntryKind, LedgerEntry, StatementLine
from domain.money import Money
from domain.offering import Offering, Slot
from domain.tenant import ChargeModel, ConnectStatus, Tenant
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    a_fee_policy,
    a_slot,
    a_tenant,
    an_offering,
    new_id,
)
from tests.integration.persistence.conftest import Backend


async def _seed(backend: Backend, *objects: object) -> None:
    async with backend.uow() as uow:
        for obj in objects:
            match obj:
                case Tenant():
                    await uow.tenants.add(obj)
                case Offering():
                    await uow.offerings.add(obj)
                case Slot():
                    await uow.slots.add(obj)
                case Booking():
                    await uow.bookings.add(obj)
                case _:
                    raise TypeError(obj)
        await uow.commit()


async def _bookable(backend: Backend, capacity: int = 10) -> tuple[Tenant, Offering, Slot]:
    tenant = a_tenant()
    offering = an_offering(tenant.id, capacity=capacity)
    slot = a_slot(offering)
    await _seed(backend, tenant, offering, slot)
    return tenant, offering, slot


# --- the unit of work ---------------------------------------------------------------------


async def test_changes_are_invisible_unless_committed(backend: Backend) -> None:
    tenant = a_tenant()
    async with backend.uow() as uow:
        await uow.tenants.add(tenant)
        assert await uow.tenants.get(tenant.id) == tenant  # visible to itself
    async with backend.uow() as uow:
        assert await uow.tenants.get(tenant.id) is None


async def test_an_exception_rolls_back(backend: Backend) -> None:
    tenant = a_tenant()

    async def add_then_fail() -> None:
        async with backend.uow() as uow:
            await uow.tenants.add(tenant)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await add_then_fail()
    async with backend.uow() as uow:
        assert await uow.tenants.get(tenant.id) is None


async def test_rollback_discards_only_what_followed_the_last_commit(backend: Backend) -> None:
    kept, dropped = a_tenant(), a_tenant()
    async with backend.uow() as uow:
        await uow.tenants.add(kept)
        await uow.commit()
        await uow.tenants.add(dropped)
        await uow.rollback()
        assert await uow.tenants.get(dropped.id) is None
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tenants.get(kept.id) == kept
        assert await uow.tenants.get(dropped.id) is None


async def test_a_unit_of_work_can_be_used_again_after_it_ended(backend: Backend) -> None:
    tenant = a_tenant()
    uow = backend.uow()
    async with uow:
        await uow.tenants.add(tenant)
        await uow.commit()
    async with uow:
        assert await uow.tenants.get(tenant.id) == tenant


async def test_a_single_write_unit_of_work_keeps_its_write_then_is_a_transaction_again(
    backend: Backend,
) -> None:
    tenant, _, slot = await _bookable(backend)
    booking = a_booking(slot)
    await _seed(backend, booking)
    session_id = new_id("cs")
    uow = backend.uow()
    async with uow.single_write() as unit:
        assert await unit.bookings.attach_session(tenant.id, booking.id, session_id)
        await unit.commit()
    async with backend.uow() as check:
        assert await check.bookings.find_by_gateway_session(session_id) == booking.attach_session(
            session_id
        )
    dropped = a_tenant()
    async with uow:  # the same unit of work, used again: a transaction as before
        await uow.tenants.add(dropped)
    async with backend.uow() as check:
        assert await check.tenants.get(dropped.id) is None


# --- tenants --------------------------------------------------------------------------------


async def test_a_tenant_round_trips_with_its_connect_status(backend: Backend) -> None:
    tenant = a_tenant()
    await _seed(backend, tenant)
    async with backend.uow() as uow:
        assert await uow.tenants.get(tenant.id) == tenant
        assert await uow.tenants.get_by_slug(tenant.slug) == tenant
        assert tenant.connect.account_id is not None
        assert await uow.tenants.find_by_account_id(tenant.connect.account_id) == tenant
        assert await uow.tenants.get(new_id("tn")) is None
        assert await uow.tenants.get_by_slug("nobody") is None


async def test_a_tenant_update_is_saved(backend: Backend) -> None:
    tenant = a_tenant(connect=ConnectStatus())
    await _seed(backend, tenant)
    connected = tenant.with_connect_status(
        ConnectStatus(new_id("acct"), charges_enabled=True, payouts_enabled=True)
    )
    async with backend.uow() as uow:
        await uow.tenants.update(connected)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tenants.get(tenant.id) == connected


async def test_a_tenant_keeps_when_its_connect_snapshot_was_taken(backend: Backend) -> None:
    tenant = a_tenant()
    await _seed(backend, tenant)
    snapshot = tenant.with_connect_snapshot(
        replace(tenant.connect, charges_enabled=False), NOW + timedelta(minutes=1)
    )
    async with backend.uow() as uow:
        await uow.tenants.update(snapshot)
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.tenants.get(tenant.id)
    assert stored == snapshot
    assert stored.connect_as_of == NOW + timedelta(minutes=1)


async def test_a_tenant_read_before_a_newer_snapshot_was_stored_is_not_saved_over_it(
    backend: Backend,
) -> None:
    tenant = a_tenant()
    await _seed(backend, tenant)
    older = tenant.with_connect_snapshot(tenant.connect, NOW)
    newer = tenant.with_connect_snapshot(
        replace(tenant.connect, charges_enabled=False), NOW + timedelta(seconds=1)
    )
    async with backend.uow() as uow:
        await uow.tenants.update(newer)
        await uow.commit()
    for stale in (older, tenant):  # an older snapshot, and a copy read before any
        async with backend.uow() as uow:
            with pytest.raises(ConcurrentUpdate):
                await uow.tenants.update(stale)
    async with backend.uow() as uow:
        assert await uow.tenants.get(tenant.id) == newer


async def test_updating_an_unknown_tenant_is_not_found(backend: Backend) -> None:
    async with backend.uow() as uow:
        with pytest.raises(NotFound):
            await uow.tenants.update(a_tenant())


async def test_a_taken_tenant_id_or_slug_already_exists(backend: Backend) -> None:
    tenant = a_tenant()
    await _seed(backend, tenant)
    async with backend.uow() as uow:
        with pytest.raises(AlreadyExists):
            await uow.tenants.add(replace(tenant, slug="another-slug-" + new_id("s")))
        with pytest.raises(AlreadyExists):
            await uow.tenants.add(a_tenant(slug=tenant.slug))
        # The unit of work stays usable after a refused insert.
        other = a_tenant()
        await uow.tenants.add(other)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tenants.get(other.id) == other


async def test_tenants_are_listed_by_id_a_page_at_a_time(backend: Backend) -> None:
    prefix = new_id("tn")
    tenants = [a_tenant(id=f"{prefix}{suffix}") for suffix in "cab"]
    await _seed(backend, *tenants)
    async with backend.uow() as uow:
        first = await uow.tenants.list(after=prefix, limit=2)
        rest = await uow.tenants.list(after=first[-1].id, limit=1)
    assert [t.id for t in first + rest] == [f"{prefix}{s}" for s in "abc"]


async def test_api_keys_find_their_tenant_until_revoked(backend: Backend) -> None:
    tenant, other = a_tenant(), a_tenant()
    await _seed(backend, tenant, other)
    key_hash = new_id("hash")
    async with backend.uow() as uow:
        await uow.tenants.add_api_key(tenant.id, key_hash, label="default", created_at=NOW)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tenants.find_by_api_key_hash(key_hash) == tenant
        assert await uow.tenants.find_by_api_key_hash(new_id("hash")) is None
        with pytest.raises(AlreadyExists):
            await uow.tenants.add_api_key(other.id, key_hash, label="dup", created_at=NOW)
        keep = new_id("hash")  # a key of neither tenant: every key but it ends
        assert await uow.tenants.revoke_other_api_keys(other.id, keep, revoked_at=NOW) == 0
        assert await uow.tenants.revoke_other_api_keys(tenant.id, keep, revoked_at=NOW) == 1
        assert await uow.tenants.revoke_other_api_keys(tenant.id, keep, revoked_at=NOW) == 0
        await uow.commit()
    async with backend.uow() as uow:
        # A key revoked at a moment works until then (a grace period), never after.
        before = NOW - timedelta(seconds=1)
        assert await uow.tenants.find_by_api_key_hash(key_hash, now=before) == tenant
        assert await uow.tenants.find_by_api_key_hash(key_hash, now=NOW) is None


async def test_rotation_ends_every_other_key_of_the_tenant_only(backend: Backend) -> None:
    tenant, other = a_tenant(), a_tenant()
    await _seed(backend, tenant, other)
    old, new, others = new_id("hash"), new_id("hash"), new_id("hash")
    async with backend.uow() as uow:
        await uow.tenants.add_api_key(tenant.id, old, label="old", created_at=NOW)
        await uow.tenants.add_api_key(tenant.id, new, label="new", created_at=NOW)
        await uow.tenants.add_api_key(other.id, others, label="other", created_at=NOW)
        later = NOW + timedelta(days=1)
        assert await uow.tenants.revoke_other_api_keys(tenant.id, new, revoked_at=later) == 1
        # An end already set is only ever brought forward.
        assert await uow.tenants.revoke_other_api_keys(tenant.id, new, revoked_at=later) == 0
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tenants.find_by_api_key_hash(old, now=later - timedelta(seconds=1))
        assert await uow.tenants.find_by_api_key_hash(old, now=later) is None
        assert await uow.tenants.find_by_api_key_hash(new, now=later) == tenant
        assert await uow.tenants.find_by_api_key_hash(others, now=later) == other


async def test_fee_policy_versions_are_unique_and_the_newest_is_active(backend: Backend) -> None:
    tenant = a_tenant()
    await _seed(backend, tenant)
    first, second = FeePolicy(percent_bps=300), a_fee_policy(version=2)
    async with backend.uow() as uow:
        assert await uow.tenants.active_fee_policy(tenant.id) is None
        await uow.tenants.add_fee_policy(tenant.id, first)
        await uow.tenants.add_fee_policy(tenant.id, second)
        with pytest.raises(AlreadyExists):
            await uow.tenants.add_fee_policy(tenant.id, FeePolicy(percent_bps=1, version=2))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tenants.active_fee_policy(tenant.id) == second


# --- offerings ------------------------------------------------------------------------------


async def test_an_offering_round_trips_with_its_policies(backend: Backend) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id)
    plain = an_offering(tenant.id, cancellation_policy=None, fee_policy=None, description="")
    await _seed(backend, tenant, offering, plain)
    async with backend.uow() as uow:
        assert await uow.offerings.get(tenant.id, offering.id) == offering
        assert await uow.offerings.get(tenant.id, plain.id) == plain
        assert await uow.offerings.get(tenant.id, new_id("of")) is None
        with pytest.raises(AlreadyExists):
            await uow.offerings.add(offering)


async def test_the_platforms_override_is_versioned_and_read_with_the_offering(
    backend: Backend,
) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id)
    await _seed(backend, tenant, offering)
    override = a_fee_policy(4).with_version(1)
    async with backend.uow() as uow:
        assert await uow.offerings.last_fee_policy_override_version(tenant.id, offering.id) == 0
        await uow.offerings.add_fee_policy_override(tenant.id, offering.id, 1, override)
        with pytest.raises(AlreadyExists):
            await uow.offerings.add_fee_policy_override(tenant.id, offering.id, 1, None)
        await uow.commit()
    async with backend.uow() as uow:
        read = await uow.offerings.get(tenant.id, offering.id)
        assert read is not None
        assert read.fee_policy == override
        assert read.fee_policy.ref == FeePolicyRef(offering.id, 1, FeePolicyScope.OFFERING)
        assert await uow.offerings.list(tenant.id) == [read]
        # A tenant's change to the offering never touches the platform's override.
        await uow.offerings.update(replace(read, name="Renamed", fee_policy=None))
        await uow.commit()
    async with backend.uow() as uow:
        renamed = await uow.offerings.get(tenant.id, offering.id)
        assert renamed is not None
        assert renamed.fee_policy == override
        await uow.offerings.add_fee_policy_override(tenant.id, offering.id, 2, None)
        await uow.commit()
    async with backend.uow() as uow:
        ended = await uow.offerings.get(tenant.id, offering.id)
        assert ended is not None
        assert ended.fee_policy is None
        assert await uow.offerings.last_fee_policy_override_version(tenant.id, offering.id) == 2


async def test_the_pricing_lock_is_taken_on_a_tenant_that_exists(backend: Backend) -> None:
    tenant = a_tenant()
    await _seed(backend, tenant)
    async with backend.uow() as uow:
        assert await uow.tenants.lock_pricing(tenant.id)
        assert await uow.tenants.lock_pricing(tenant.id)  # again, in the same unit of work
        assert not await uow.tenants.lock_pricing(new_id("tn"))


async def test_the_tenants_policy_is_named_as_the_tenants(backend: Backend) -> None:
    tenant = a_tenant()
    await _seed(backend, tenant)
    async with backend.uow() as uow:
        await uow.tenants.add_fee_policy(tenant.id, a_fee_policy(1).with_version(1))
        await uow.commit()
    async with backend.uow() as uow:
        active = await uow.tenants.active_fee_policy(tenant.id)
        assert active is not None
        assert active.ref == FeePolicyRef(tenant.id, 1, FeePolicyScope.TENANT)


async def test_archived_offerings_are_listed_only_on_request(backend: Backend) -> None:
    tenant = a_tenant()
    kayak = an_offering(tenant.id, name="Kayak")
    canoe = an_offering(tenant.id, name="Canoe")
    await _seed(backend, tenant, kayak, canoe)
    async with backend.uow() as uow:
        await uow.offerings.update(kayak.archive())
        with pytest.raises(NotFound):
            await uow.offerings.update(an_offering(tenant.id))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.offerings.list(tenant.id) == [canoe]
        everything = await uow.offerings.list(tenant.id, include_archived=True)
        assert everything == [canoe, kayak.archive()]


# --- slots and seats ------------------------------------------------------------------------


async def test_a_slot_round_trips_and_is_listed_by_start_time(backend: Backend) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id)
    later = a_slot(offering, starts_at=NOW + timedelta(days=2), capacity=4)
    earlier = a_slot(offering, starts_at=NOW + timedelta(days=1), held=1, booked=2)
    outside = a_slot(offering, starts_at=NOW + timedelta(days=3))
    other_offering = an_offering(tenant.id)
    elsewhere = a_slot(other_offering, starts_at=NOW + timedelta(days=1))
    await _seed(backend, tenant, offering, other_offering, later, earlier, outside, elsewhere)
    async with backend.uow() as uow:
        assert await uow.slots.get(tenant.id, earlier.id) == earlier
        listed = await uow.slots.list_for_offering(
            tenant.id,
            offering.id,
            starts_from=NOW + timedelta(days=1),
            starts_before=NOW + timedelta(days=3),
        )
        assert listed == [earlier, later]
        assert [s.seats_available for s in listed] == [7, 4]
        assert len(await uow.slots.list_for_offering(tenant.id, offering.id)) == 3
        with pytest.raises(AlreadyExists):
            await uow.slots.add(earlier)


async def test_an_offering_has_one_slot_per_start_time(backend: Backend) -> None:
    tenant = a_tenant()
    offering, other = an_offering(tenant.id), an_offering(tenant.id)
    first = a_slot(offering, starts_at=NOW + timedelta(days=1))
    await _seed(backend, tenant, offering, other, first)
    async with backend.uow() as uow:
        assert await uow.slots.offering_has_slots(tenant.id, offering.id)
        assert not await uow.slots.offering_has_slots(tenant.id, other.id)
        starts = [NOW + timedelta(days=1), NOW + timedelta(days=2)]
        assert await uow.slots.taken_starts(tenant.id, offering.id, starts) == {starts[0]}
        assert await uow.slots.taken_starts(tenant.id, other.id, starts) == set()
        # Another offering may start then; the same offering may not, whatever the id.
        await uow.slots.add(a_slot(other, starts_at=first.starts_at))
        with pytest.raises(AlreadyExists):
            await uow.slots.add(a_slot(offering, starts_at=first.starts_at))


async def test_slot_times_come_back_as_aware_utc(backend: Backend) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id)
    paris = timezone(timedelta(hours=1))
    slot = a_slot(offering, starts_at=NOW.astimezone(paris))
    await _seed(backend, tenant, offering, slot)
    async with backend.uow() as uow:
        stored = await uow.slots.get(tenant.id, slot.id)
    assert stored is not None
    assert stored.starts_at == NOW
    assert stored.starts_at.utcoffset() == timedelta(0)
    assert stored.starts_at.tzinfo is not None


async def test_a_slot_for_sale_comes_with_its_tenant_offering_and_active_policy(
    backend: Backend,
) -> None:
    tenant, offering, slot = await _bookable(backend)
    other_tenant, other_offering, other_slot = await _bookable(backend)
    async with backend.uow() as uow:
        found = await uow.slots.get_for_sale(tenant.slug, slot.id)
        assert found is not None
        assert (found.tenant, found.slot, found.offering) == (tenant, slot, offering)
        assert found.active_fee_policy is None
        await uow.tenants.add_fee_policy(tenant.id, FeePolicy(percent_bps=300))
        await uow.tenants.add_fee_policy(tenant.id, a_fee_policy(version=2))
        await uow.tenants.add_fee_policy(other_tenant.id, a_fee_policy(version=7))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.slots.try_hold(tenant.id, slot.id, 2)
        found = await uow.slots.get_for_sale(tenant.slug, slot.id)
        assert found is not None
        assert found.tenant == tenant
        assert found.slot == await uow.slots.get(tenant.id, slot.id)
        assert found.slot is not None
        assert found.slot.held == 2
        assert found.offering == offering
        assert found.active_fee_policy == a_fee_policy(version=2)
        other = await uow.slots.get_for_sale(other_tenant.slug, other_slot.id)
        assert other is not None
        assert (other.tenant, other.offering) == (other_tenant, other_offering)
        assert other.active_fee_policy == a_fee_policy(7)
        # Another tenant's slot, or none at all: the tenant alone.
        for missing in (slot.id, new_id("sl")):
            alone = await uow.slots.get_for_sale(other_tenant.slug, missing)
            assert alone is not None
            assert (alone.tenant, alone.slot, alone.offering) == (other_tenant, None, None)
            assert alone.active_fee_policy == a_fee_policy(7)
        assert await uow.slots.get_for_sale("no-such-tenant", slot.id) is None


async def test_seats_are_held_only_while_they_fit(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend, capacity=5)
    async with backend.uow() as uow:
        assert await uow.slots.try_hold(tenant.id, slot.id, 3)
        assert await uow.slots.try_hold(tenant.id, slot.id, 2)
        assert not await uow.slots.try_hold(tenant.id, slot.id, 1)
        assert not await uow.slots.try_book(tenant.id, slot.id, 1)
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.slots.get(tenant.id, slot.id)
    assert stored is not None
    assert (stored.held, stored.booked, stored.seats_available) == (5, 0, 0)


async def test_seats_move_between_held_booked_and_free(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend, capacity=6)
    t, s = tenant.id, slot.id
    async with backend.uow() as uow:
        assert await uow.slots.try_hold(t, s, 4)
        assert not await uow.slots.release_hold(t, s, 5)
        assert await uow.slots.release_hold(t, s, 1)  # held 3
        assert not await uow.slots.confirm_hold(t, s, 4)
        assert await uow.slots.confirm_hold(t, s, 2)  # held 1, booked 2
        assert await uow.slots.try_book(t, s, 3)  # held 1, booked 5
        assert not await uow.slots.try_book(t, s, 1)
        assert not await uow.slots.release_booked(t, s, 6)
        assert await uow.slots.release_booked(t, s, 1)  # held 1, booked 4
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.slots.get(t, s)
    assert stored is not None
    assert (stored.held, stored.booked) == (1, 4)


async def test_seat_changes_on_an_unknown_slot_change_nothing(backend: Backend) -> None:
    tenant, _, _ = await _bookable(backend)
    unknown = new_id("sl")
    async with backend.uow() as uow:
        assert not await uow.slots.try_hold(tenant.id, unknown, 1)
        assert not await uow.slots.try_book(tenant.id, unknown, 1)
        assert not await uow.slots.release_hold(tenant.id, unknown, 1)
        assert not await uow.slots.confirm_hold(tenant.id, unknown, 1)
        assert not await uow.slots.release_booked(tenant.id, unknown, 1)
        assert await uow.slots.get(tenant.id, unknown) is None


@pytest.mark.parametrize("seats", [0, -1, True])
async def test_seat_counts_must_be_positive_whole_numbers(backend: Backend, seats: int) -> None:
    tenant, _, slot = await _bookable(backend)
    async with backend.uow() as uow:
        with pytest.raises(InvalidSeatCount):
            await uow.slots.try_hold(tenant.id, slot.id, seats)


# --- bookings -------------------------------------------------------------------------------


async def test_a_booking_round_trips_through_its_life(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend)
    booking = a_booking(slot, access_token_hash=new_id("tok"))
    await _seed(backend, booking)
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, booking.id) == booking
        assert await uow.bookings.get(tenant.id, new_id("bk")) is None
        assert await uow.bookings.find_by_id(booking.id) == booking
        assert await uow.bookings.find_by_id(new_id("bk")) is None
        with pytest.raises(AlreadyExists):
            await uow.bookings.add(booking)

    session_id, payment_id = new_id("cs"), new_id("pi")
    async with backend.uow() as uow:
        stored = await uow.bookings.get(tenant.id, booking.id)
        assert stored is not None
        paid = stored.attach_session(session_id).confirm(payment_id)
        await uow.bookings.update(paid)
        await uow.commit()
    first_refund = RefundSplit(Money(1_000, "usd"), Money(50, "usd"))
    second_refund = RefundSplit(Money(500, "usd"), Money(0, "usd"))
    async with backend.uow() as uow:
        found = await uow.bookings.find_by_gateway_session(session_id)
        assert found == paid
        refunded = found.record_refund(new_id("re"), first_refund).record_refund(
            new_id("re"), second_refund
        )
        await uow.bookings.update(refunded)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.find_by_payment_intent(payment_id)
        assert found == refunded
        cancelled = found.cancel(CancelledBy.TENANT, "storm warning")
        await uow.bookings.update(cancelled)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, booking.id) == cancelled
        assert await uow.bookings.find_by_gateway_session(new_id("cs")) is None
        assert await uow.bookings.find_by_payment_intent(new_id("pi")) is None


async def _paid_booking(backend: Backend) -> Booking:
    _, _, slot = await _bookable(backend)
    booking = a_booking(slot).attach_session(new_id("cs")).confirm(new_id("pi"))
    await _seed(backend, booking)
    return booking


async def test_a_reserved_refund_is_settled_or_released(backend: Backend) -> None:
    booking = await _paid_booking(backend)
    split = RefundSplit(Money(1_000, "usd"), Money(50, "usd"))
    async with backend.uow() as uow:
        stored = await uow.bookings.get(booking.tenant_id, booking.id)
        assert stored is not None
        reserved = stored.reserve_refund(
            "bookpay-refund-1", split, reason="cancelled by the tenant", cancels=CancelledBy.TENANT
        ).reserve_refund("bookpay-refund-2", split)
        await uow.bookings.update(reserved)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found == reserved
        assert [r.pending for r in found.refunds] == [True, True]
        assert (found.refunds[0].reason, found.refunds[0].cancels) == (
            "cancelled by the tenant",
            CancelledBy.TENANT,
        )
        assert (booking.tenant_id, booking.id) in await uow.bookings.with_refunds_due()
        settled = found.settle_refund("bookpay-refund-1", "re_1").release_refund("bookpay-refund-2")
        await uow.bookings.update(settled)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found == settled
        assert found.refunds == (
            Refund(
                "re_1",
                split,
                reason="cancelled by the tenant",
                cancels=CancelledBy.TENANT,
                reference="bookpay-refund-1",
            ),
        )
        assert found.status is BookingStatus.CONFIRMED
        assert (booking.tenant_id, booking.id) not in await uow.bookings.with_refunds_due()


async def test_a_booking_the_system_cancelled_is_due_a_refund_until_refunded_in_full(
    backend: Backend,
) -> None:
    booking = await _paid_booking(backend)
    async with backend.uow() as uow:
        stored = await uow.bookings.get(booking.tenant_id, booking.id)
        assert stored is not None
        cancelled = stored.cancel(CancelledBy.SYSTEM, "paid late")
        await uow.bookings.update(cancelled)
        await uow.commit()
    key = (booking.tenant_id, booking.id)
    async with backend.uow() as uow:
        assert key in await uow.bookings.with_refunds_due()
        found = await uow.bookings.get(*key)
        assert found is not None
        half = RefundSplit(Money(2_000, "usd"), Money(0, "usd"))
        partly = found.record_refund("re_half", half)
        await uow.bookings.update(partly)
        await uow.commit()
    async with backend.uow() as uow:
        assert key in await uow.bookings.with_refunds_due()
        found = await uow.bookings.get(*key)
        assert found is not None
        rest = RefundSplit(found.refundable, Money(0, "usd"))
        await uow.bookings.update(found.record_refund("re_rest", rest))
        await uow.commit()
    async with backend.uow() as uow:
        assert key not in await uow.bookings.with_refunds_due()


def _snapshot(
    dispute_id: str, status: DisputeStatus, minutes: int, refundable: bool = False
) -> DisputeSnapshot:
    return DisputeSnapshot(
        dispute_id=dispute_id,
        amount=Money(4230, "usd"),
        reason="fraudulent",
        status=status,
        is_charge_refundable=refundable,
        opened_at=NOW,
        as_of=NOW + timedelta(minutes=minutes),
    )


async def test_disputes_are_stored_with_their_booking_and_follow_its_changes(
    backend: Backend,
) -> None:
    booking = await _paid_booking(backend)
    first, second = new_id("dp"), new_id("dp")
    async with backend.uow() as uow:
        stored = await uow.bookings.get(booking.tenant_id, booking.id)
        assert stored is not None
        disputed = stored.record_dispute(
            _snapshot(first, DisputeStatus.NEEDS_RESPONSE, 0)
        ).record_dispute(_snapshot(second, DisputeStatus.WARNING_NEEDS_RESPONSE, 1, True))
        await uow.bookings.update(disputed)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found == disputed
        assert found.payment_status is PaymentStatus.DISPUTED
        lost = found.record_dispute(_snapshot(first, DisputeStatus.LOST, 5))
        recovering = lost.reserve_dispute_recovery(
            first, ChargeModel.DESTINATION, DisputeBearer.TENANT
        )
        await uow.bookings.update(recovering)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found == recovering
        assert await uow.disputes.list_for_booking(booking.tenant_id, booking.id) == list(
            recovering.disputes
        )
        assert await uow.disputes.with_pending_recoveries() == [(booking.tenant_id, booking.id)]
        recovered = found.settle_dispute_recovery(first, "trr_1")
        await uow.bookings.update(recovered)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.find_by_payment_intent(booking.payment_intent_id or "")
        assert found == recovered
        assert await uow.disputes.with_pending_recoveries() == []
        assert await uow.disputes.list_for_booking(new_id("tn"), booking.id) == []


async def test_bookings_are_listed_by_their_payment_status(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend, capacity=20)
    unpaid = a_booking(slot)
    paid = a_booking(slot).confirm(new_id("pi"))
    split = RefundSplit(Money(1_000, "usd"), Money(0, "usd"))
    part_refunded = a_booking(slot).confirm(new_id("pi")).record_refund(new_id("re"), split)
    await _seed(backend, unpaid, paid, part_refunded)

    async def listed(*statuses: PaymentStatus) -> set[str]:
        async with backend.uow() as uow:
            page = await uow.bookings.list(tenant.id, payment_statuses=statuses)
        return {b.id for b in page.items}

    assert await listed(PaymentStatus.UNPAID) == {unpaid.id}
    assert await listed(PaymentStatus.PARTIALLY_REFUNDED) == {part_refunded.id}
    assert await listed(PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED) == {
        paid.id,
        part_refunded.id,
    }
    async with backend.uow() as uow:
        page = await uow.bookings.list(
            tenant.id, statuses=[BookingStatus.CONFIRMED], payment_statuses=[PaymentStatus.PAID]
        )
    assert [b.id for b in page.items] == [paid.id]


async def test_a_booking_update_inside_one_unit_of_work_can_repeat(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend)
    booking = a_booking(slot)
    async with backend.uow() as uow:
        await uow.bookings.add(booking)
        attached = booking.attach_session(new_id("cs"))
        await uow.bookings.update(attached)
        await uow.bookings.update(attached.confirm(new_id("pi")))
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.bookings.get(tenant.id, booking.id)
    assert stored is not None
    assert stored.status is BookingStatus.CONFIRMED


async def test_a_booking_is_added_holding_its_seats_only_while_they_fit(
    backend: Backend,
) -> None:
    tenant, _, slot = await _bookable(backend, capacity=5)
    first, too_many = a_booking(slot, seats=3), a_booking(slot, seats=3)
    async with backend.uow() as uow:
        assert await uow.bookings.add_holding_seats(first)
        assert not await uow.bookings.add_holding_seats(too_many)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, first.id) == first
        assert await uow.bookings.get(tenant.id, too_many.id) is None
        stored = await uow.slots.get(tenant.id, slot.id)
        assert stored is not None
        assert (stored.held, stored.booked) == (3, 0)
        # Its id taken: AlreadyExists, and the unit of work is left to roll back.
        with pytest.raises(AlreadyExists):
            await uow.bookings.add_holding_seats(replace(first, seats=1))
    async with backend.uow() as uow:
        stored = await uow.slots.get(tenant.id, slot.id)
        assert stored is not None
        assert stored.held == 3
        # A booking added so can be updated at the version it was stored with.
        last = a_booking(slot, seats=2)
        assert await uow.bookings.add_holding_seats(last)
        added = await uow.bookings.get(tenant.id, last.id)
        assert added is not None
        await uow.bookings.update(added.expire())


async def test_a_single_write_checkout_keeps_no_seats_for_a_booking_it_could_not_add(
    backend: Backend,
) -> None:
    """Without a transaction to roll back, a refused add must not leave its seats held."""
    tenant, _, slot = await _bookable(backend, capacity=5)
    first = a_booking(slot, seats=2)
    async with backend.uow().single_write() as uow:
        assert await uow.bookings.get(tenant.id, first.id) is None  # a read first, as checkout
        assert await uow.bookings.add_holding_seats(first)
        await uow.commit()
    async with backend.uow().single_write() as uow:
        with pytest.raises(AlreadyExists):
            await uow.bookings.add_holding_seats(replace(first, seats=3))
    async with backend.uow() as uow:
        stored = await uow.slots.get(tenant.id, slot.id)
        assert stored is not None
        assert (stored.held, stored.booked) == (2, 0)
        assert await uow.bookings.get(tenant.id, first.id) == first


async def test_a_session_is_attached_once_to_a_pending_booking(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend, capacity=20)
    booking = a_booking(slot)
    paid = a_booking(slot).confirm(new_id("pi"))
    await _seed(backend, booking, paid)
    session_id = new_id("cs")
    async with backend.uow() as uow:
        assert await uow.bookings.attach_session(tenant.id, booking.id, session_id)
        # Attached now, to this session or any other: nothing more changes.
        assert not await uow.bookings.attach_session(tenant.id, booking.id, session_id)
        assert not await uow.bookings.attach_session(tenant.id, booking.id, new_id("cs"))
        assert not await uow.bookings.attach_session(tenant.id, paid.id, new_id("cs"))
        assert not await uow.bookings.attach_session(tenant.id, new_id("bk"), new_id("cs"))
        assert not await uow.bookings.attach_session(new_id("tn"), booking.id, new_id("cs"))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, booking.id) == booking.attach_session(session_id)
        assert await uow.bookings.get(tenant.id, paid.id) == paid
        assert await uow.bookings.find_by_gateway_session(session_id) == booking.attach_session(
            session_id
        )


async def test_attaching_a_session_makes_an_earlier_copy_stale(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend)
    booking = a_booking(slot)
    await _seed(backend, booking)
    async with backend.uow() as uow:
        before = await uow.bookings.get(tenant.id, booking.id)
        assert before is not None
        assert await uow.bookings.attach_session(tenant.id, booking.id, new_id("cs"))
        with pytest.raises(ConcurrentUpdate):
            await uow.bookings.update(before.expire())


async def test_updating_an_unknown_booking_is_not_found(backend: Backend) -> None:
    _, _, slot = await _bookable(backend)
    async with backend.uow() as uow:
        with pytest.raises(NotFound):
            await uow.bookings.update(a_booking(slot))


async def test_bookings_are_listed_newest_first_a_page_at_a_time(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend, capacity=50)
    bookings = [
        a_booking(slot, seats=1, created_at=NOW + timedelta(minutes=i % 4), id=f"bk_{i:02d}")
        for i in range(9)
    ]
    await _seed(backend, *bookings)
    expected = sorted(bookings, key=lambda b: (b.created_at, b.id), reverse=True)
    seen: list[Booking] = []
    cursor = None
    async with backend.uow() as uow:
        for _ in range(5):
            page = await uow.bookings.list(tenant.id, limit=4, cursor=cursor)
            seen.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == expected
    assert cursor is None


async def test_bookings_are_filtered_by_status_and_time(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend, capacity=50)
    early = a_booking(slot, seats=1, created_at=NOW)
    late = a_booking(slot, seats=1, created_at=NOW + timedelta(hours=2))
    confirmed = a_booking(slot, seats=1, created_at=NOW + timedelta(hours=1)).confirm("pi_x")
    await _seed(backend, early, late, confirmed)
    async with backend.uow() as uow:
        pending = await uow.bookings.list(tenant.id, statuses=[BookingStatus.PENDING_PAYMENT])
        assert pending.items == (late, early)
        either = await uow.bookings.list(
            tenant.id, statuses=[BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED]
        )
        assert either.items == (late, confirmed, early)
        window = await uow.bookings.list(
            tenant.id,
            created_from=NOW + timedelta(hours=1),
            created_before=NOW + timedelta(hours=2),
        )
        assert window.items == (confirmed,)
        starts = await uow.bookings.list(tenant.id, starts_from=slot.starts_at)
        assert len(starts.items) == 3
        assert (await uow.bookings.list(tenant.id, starts_before=slot.starts_at)).items == ()


async def test_a_forged_cursor_is_refused(backend: Backend) -> None:
    tenant, _, _ = await _bookable(backend)
    async with backend.uow() as uow:
        with pytest.raises(InvalidCursor):
            await uow.bookings.list(tenant.id, cursor="not-a-cursor")


async def _claim(backend: Backend, tenant_id: str, now: object = NOW, **kw: object) -> list[str]:
    async with backend.uow() as uow:
        claimed = await uow.bookings.claim_lapsed_holds(
            tenant_id, NOW, now=now, claim_until=NOW + timedelta(minutes=5), **kw
        )
        await uow.commit()
    return [b.id for b in claimed]


async def test_lapsed_holds_are_claimed_per_tenant_oldest_first(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend)
    lapsed = a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=5))
    lapsed_earlier = a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=9))
    current = a_booking(slot, seats=1, hold_expires_at=NOW + timedelta(minutes=5))
    paid = a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=5)).confirm("pi")
    await _seed(backend, lapsed, lapsed_earlier, current, paid)
    async with backend.uow() as uow:
        assert tenant.id in await uow.bookings.tenants_with_lapsed_holds(NOW)
        assert tenant.id not in await uow.bookings.tenants_with_lapsed_holds(
            NOW - timedelta(minutes=10)
        )
    assert await _claim(backend, tenant.id, limit=1) == [lapsed_earlier.id]
    assert await _claim(backend, tenant.id) == [lapsed.id]
    assert await _claim(backend, tenant.id) == []  # both claimed by the calls before


async def test_a_claim_on_a_lapsed_hold_ends_by_itself_and_with_its_transaction(
    backend: Backend,
) -> None:
    tenant, _, slot = await _bookable(backend)
    lapsed = a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=5))
    await _seed(backend, lapsed)
    async with backend.uow() as uow:
        claimed = await uow.bookings.claim_lapsed_holds(
            tenant.id, NOW, now=NOW, claim_until=NOW + timedelta(minutes=5)
        )
        assert claimed == [lapsed]
    # Not committed: nobody holds a claim.
    assert await _claim(backend, tenant.id) == [lapsed.id]
    assert await _claim(backend, tenant.id, now=NOW + timedelta(minutes=4)) == []
    assert await _claim(backend, tenant.id, now=NOW + timedelta(minutes=5)) == [lapsed.id]
    # A claim changes nothing a webhook could trip over: the booking's version stays.
    async with backend.uow() as uow:
        seen = await uow.bookings.get(tenant.id, lapsed.id)
        assert seen == lapsed
        await _claim_in(uow, tenant.id)
        await uow.bookings.update(lapsed.expire())
        await uow.commit()


async def _claim_in(uow: object, tenant_id: str) -> None:
    await uow.bookings.claim_lapsed_holds(  # type: ignore[attr-defined]
        tenant_id, NOW, now=NOW + timedelta(hours=1), claim_until=NOW + timedelta(hours=2)
    )


# --- ledger ---------------------------------------------------------------------------------


def _entry(
    booking: Booking, kind: EntryKind, amount: int, ref: str, **changes: object
) -> LedgerEntry:
    entry = LedgerEntry(
        booking.tenant_id, booking.id, kind, Money(amount, booking.currency), ref, NOW
    )
    return replace(entry, **changes)  # type: ignore[arg-type]


async def test_a_ledger_entry_is_recorded_once_per_reference_and_kind(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend)
    booking = a_booking(slot)
    await _seed(backend, booking)
    charge = _entry(booking, EntryKind.CHARGE, 5_280, "pi_1")
    fee = _entry(booking, EntryKind.APPLICATION_FEE, 280, "pi_1")
    async with backend.uow() as uow:
        assert await uow.ledger.add(charge)
        assert await uow.ledger.add(fee)
        assert not await uow.ledger.add(replace(charge, amount=Money(1, "usd")))
        await uow.commit()
    async with backend.uow() as uow:
        assert not await uow.ledger.add(charge)
        assert await uow.ledger.list_for_booking(tenant.id, booking.id) == [charge, fee]


async def test_ledger_entries_are_added_together_each_at_most_once(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend)
    booking = a_booking(slot)
    await _seed(backend, booking)
    charge = _entry(booking, EntryKind.CHARGE, 5_280, "pi_1")
    fee = _entry(booking, EntryKind.APPLICATION_FEE, 280, "pi_1")
    refund = _entry(booking, EntryKind.REFUND, 1_000, "re_1")
    async with backend.uow() as uow:
        assert await uow.ledger.add_all([]) == []
        assert await uow.ledger.add(fee)
        assert await uow.ledger.add_all([charge, fee, replace(charge, amount=Money(1, "usd"))]) == [
            True,
            False,
            False,
        ]
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.ledger.add_all([charge, refund]) == [False, True]
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.ledger.list_for_booking(tenant.id, booking.id) == [charge, fee, refund]


async def test_a_statement_sums_entries_per_currency_in_a_time_range(backend: Backend) -> None:
    tenant, _, slot = await _bookable(backend, capacity=20)
    first, second = a_booking(slot), a_booking(slot)
    await _seed(backend, first, second)
    later = NOW + timedelta(days=1)
    entries = [
        _entry(first, EntryKind.CHARGE, 5_000, "pi_1"),
        _entry(first, EntryKind.APPLICATION_FEE, 300, "pi_1"),
        _entry(first, EntryKind.REFUND, 2_000, "re_1"),
        _entry(first, EntryKind.APPLICATION_FEE_REFUND, 120, "re_1"),
        _entry(second, EntryKind.CHARGE, 7_000, "pi_2", created_at=later),
        _entry(second, EntryKind.APPLICATION_FEE, 400, "pi_2", created_at=later),
        # A direct charge's lost dispute is the tenant's; a destination charge's withdrawal
        # is the platform's until recovered from the tenant.
        _entry(second, EntryKind.DISPUTE, 7_000, "dp_1", created_at=later),
        _entry(second, EntryKind.DISPUTE_FEE, 1_500, "dp_1", created_at=later),
        _entry(second, EntryKind.DISPUTE_REVERSAL, 7_000, "dp_1", created_at=later),
        replace(
            _entry(second, EntryKind.DISPUTE, 9_000, "dp_2", created_at=later),
            borne_by=Party.PLATFORM,
        ),
        _entry(second, EntryKind.DISPUTE, 100, "trr_1", created_at=later),
    ]
    async with backend.uow() as uow:
        for entry in entries:
            assert await uow.ledger.add(entry)
        await uow.commit()
    usd = lambda amount: Money(amount, "usd")  # noqa: E731
    async with backend.uow() as uow:
        assert await uow.ledger.statement(tenant.id) == [
            StatementLine("usd", 2, usd(12_000), usd(2_000), usd(700), usd(120), usd(1_600))
        ]
        assert await uow.ledger.statement(tenant.id, since=NOW, until=later) == [
            StatementLine("usd", 1, usd(5_000), usd(2_000), usd(300), usd(120), usd(0))
        ]
        assert await uow.ledger.statement(tenant.id, since=later) == [
            StatementLine("usd", 1, usd(7_000), usd(0), usd(400), usd(0), usd(1_600))
        ]
        assert await uow.ledger.statement(tenant.id, currency="eur") == []
        assert await uow.ledger.statement(tenant.id, until=NOW) == []


# --- webhook inbox and idempotency ----------------------------------------------------------


async def test_a_webhook_event_is_recorded_only_the_first_time(backend: Backend) -> None:
    event_id = new_id("evt")
    async with backend.uow() as uow:
        assert await uow.webhook_inbox.record(event_id)
        assert not await uow.webhook_inbox.record(event_id)
        await uow.commit()
    async with backend.uow() as uow:
        assert not await uow.webhook_inbox.record(event_id)
    rolled_back = new_id("evt")
    async with backend.uow() as uow:
        assert await uow.webhook_inbox.record(rolled_back)
    async with backend.uow() as uow:
        assert await uow.webhook_inbox.record(rolled_back)


def _refunded(payment: str, at_minutes: int, cumulative: int) -> ChargeRefunded:
    return ChargeRefunded(
        event_id=new_id("evt"),
        created_at=NOW + timedelta(minutes=at_minutes),
        account_id="acct_1",
        charge_id="ch_1",
        payment_intent_id=payment,
        amount_refunded=Money(cumulative, "JPY"),
        refunds=(RefundRecord("re_1", Money(300, "JPY")), RefundRecord("re_2", Money(700, "JPY"))),
    )


def _disputed(payment: str, at_minutes: int) -> DisputeCreated:
    return DisputeCreated(
        event_id=new_id("evt"),
        created_at=NOW + timedelta(minutes=at_minutes),
        account_id=None,
        dispute_id=new_id("dp"),
        charge_id="ch_1",
        payment_intent_id=payment,
        amount=Money(4230, "USD"),
        reason="fraudulent",
    )


async def test_parked_events_come_back_whole_once_and_oldest_first(backend: Backend) -> None:
    payment, other = new_id("pi"), new_id("pi")
    late, early, dispute = (
        _refunded(payment, 5, 1000),
        _refunded(payment, 1, 300),
        _disputed(payment, 3),
    )
    elsewhere = _disputed(other, 0)
    async with backend.uow() as uow:
        for event in (late, early, dispute, elsewhere):
            assert await uow.parked_events.park(event.payment_intent_id or "", event)
        assert not await uow.parked_events.park(payment, late)
        await uow.commit()
    async with backend.uow() as uow:
        taken = await uow.parked_events.take(payment)
        assert taken == [early, dispute, late]
        assert all(event.created_at.tzinfo is not None for event in taken)
        assert await uow.parked_events.take(payment) == []
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.parked_events.take(payment) == []
        assert await uow.parked_events.take(other) == [elsewhere]


async def test_parked_events_older_than_a_time_are_discarded(backend: Backend) -> None:
    stale, fresh = _refunded(new_id("pi"), -60, 1000), _disputed(new_id("pi"), 0)
    async with backend.uow() as uow:
        for event in (stale, fresh):
            await uow.parked_events.park(event.payment_intent_id or "", event)
        await uow.commit()
    async with backend.uow() as uow:
        dropped = await uow.parked_events.discard(NOW - timedelta(minutes=30))
        assert stale.event_id in dropped
        assert fresh.event_id not in dropped
        assert await uow.parked_events.take(stale.payment_intent_id or "") == []
        assert await uow.parked_events.take(fresh.payment_intent_id or "") == [fresh]


async def test_taking_parked_events_rolls_back_with_its_unit_of_work(backend: Backend) -> None:
    payment = new_id("pi")
    event = _refunded(payment, 0, 1000)
    async with backend.uow() as uow:
        await uow.parked_events.park(payment, event)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.parked_events.take(payment) == [event]
    async with backend.uow() as uow:
        assert await uow.parked_events.take(payment) == [event]


async def test_an_idempotency_key_is_claimed_then_replayed(backend: Backend) -> None:
    scope, key = new_id("tn"), new_id("key")
    async with backend.uow() as uow:
        assert (await uow.idempotency.claim(scope, key, "fp-1")).outcome is ClaimOutcome.CLAIMED
        await uow.commit()
    async with backend.uow() as uow:
        in_progress = await uow.idempotency.claim(scope, key, "fp-1")
        assert in_progress.outcome is ClaimOutcome.IN_PROGRESS
        mismatch = await uow.idempotency.claim(scope, key, "fp-2")
        assert mismatch.outcome is ClaimOutcome.MISMATCH
        other_scope = await uow.idempotency.claim(new_id("tn"), key, "fp-2")
        assert other_scope.outcome is ClaimOutcome.CLAIMED
        await uow.idempotency.store_response(scope, key, StoredResponse(201, b'{"id": 1}'))
        await uow.commit()
    async with backend.uow() as uow:
        replay = await uow.idempotency.claim(scope, key, "fp-1")
        assert replay.outcome is ClaimOutcome.REPLAY
        assert replay.response == StoredResponse(201, b'{"id": 1}')
        with pytest.raises(NotFound):
            await uow.idempotency.store_response(scope, new_id("key"), StoredResponse(200, b""))


async def test_a_released_claim_can_be_claimed_again(backend: Backend) -> None:
    scope, key = new_id("tn"), new_id("key")
    async with backend.uow() as uow:
        await uow.idempotency.claim(scope, key, "fp")
        await uow.commit()
    async with backend.uow() as uow:
        await uow.idempotency.release(scope, key)
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.idempotency.claim(scope, key, "fp")).outcome is ClaimOutcome.CLAIMED


async def test_a_dead_claim_is_taken_over_once_after_its_timeout(backend: Backend) -> None:
    scope, key = new_id("tn"), new_id("key")
    claimed_at = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)
    later = claimed_at + timedelta(minutes=10)
    async with backend.uow() as uow:
        await uow.idempotency.claim(scope, key, "fp", now=claimed_at)
        await uow.commit()
    async with backend.uow() as uow:
        young = await uow.idempotency.claim(
            scope, key, "fp", now=later, stale_before=claimed_at - timedelta(seconds=1)
        )
        assert young.outcome is ClaimOutcome.IN_PROGRESS
        taken = await uow.idempotency.claim(
            scope, key, "fp", now=later, stale_before=later - timedelta(minutes=5)
        )
        assert taken.outcome is ClaimOutcome.CLAIMED
        await uow.commit()
    async with backend.uow() as uow:
        # The claim is the taker-over's now: a second retry at the same moment waits.
        again = await uow.idempotency.claim(
            scope, key, "fp", now=later, stale_before=later - timedelta(minutes=5)
        )
        assert again.outcome is ClaimOutcome.IN_PROGRESS
        await uow.idempotency.store_response(scope, key, StoredResponse(201, b"first"))
        await uow.idempotency.store_response(scope, key, StoredResponse(201, b"second"))
        await uow.commit()
    async with backend.uow() as uow:
        replay = await uow.idempotency.claim(scope, key, "fp")
        assert replay.response == StoredResponse(201, b"first")


async def test_old_idempotency_keys_are_purged(backend: Backend) -> None:
    scope, old, young = new_id("tn"), new_id("key"), new_id("key")
    day = datetime(2000, 6, 1, tzinfo=UTC)
    async with backend.uow() as uow:
        await uow.idempotency.claim(scope, old, "fp", now=day)
        await uow.idempotency.claim(scope, young, "fp", now=day + timedelta(hours=2))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.idempotency.purge(day + timedelta(hours=1)) >= 1
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.idempotency.claim(scope, old, "other")).outcome is ClaimOutcome.CLAIMED
        assert (await uow.idempotency.claim(scope, young, "other")).outcome is (
            ClaimOutcome.MISMATCH
        )


# --- the adapters map every field ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "names"),
    [
        (
            Tenant,
            "id name slug country default_currency timezone charge_model connect connect_as_of",
        ),
        (
            ConnectStatus,
            "account_id charges_enabled payouts_enabled details_submitted requirements_due",
        ),
        (
            Offering,
            "id tenant_id name price duration_minutes capacity description "
            "cancellation_policy fee_policy archived max_seats_per_booking",
        ),
        (
            Slot,
            "id tenant_id offering_id starts_at capacity held booked cancelled_at "
            "cancellation_reason",
        ),
        (
            Booking,
            "id tenant_id offering_id slot_id seats starts_at customer quote "
            "refund_on_cancel hold_expires_at created_at status gateway_session_id "
            "payment_intent_id refunds cancelled_by cancellation_reason access_token_hash "
            "disputes cancellation_policy cancel_url",
        ),
        (
            FeeQuote,
            "subtotal service_fee customer_fee customer_total application_fee "
            "tenant_receives fee_bearer fee_policy_version seats unit_price "
            "fee_policy_id fee_policy_scope",
        ),
        (
            FeePolicy,
            "percent_bps fixed per_seat_fixed tiers tier_mode minimum maximum bearer "
            "refund_on_cancel version by_currency id scope",
        ),
        (LedgerEntry, "tenant_id booking_id kind amount gateway_ref created_at borne_by"),
        (Refund, "refund_id split pending reason cancels reference"),
        (
            Dispute,
            "tenant_id booking_id dispute_id amount reason created_at status "
            "is_charge_refundable closed_at as_of recovery",
        ),
        (Recovery, "reference amount reversal_id"),
    ],
)
def test_the_repositories_know_every_field_of_the_domain(cls: type, names: str) -> None:
    """A new domain field must be mapped in the repositories, orm.py and a migration."""
    assert [f.name for f in fields(cls)] == names.split()


def test_the_builders_use_aware_utc_times() -> None:
    assert NOW.tzinfo is UTC


async def test_a_nested_unit_of_work_fails_fast_where_it_would_wait_forever(
    backend: Backend,
) -> None:
    """SQLite (and the in-memory fake) serialise transactions: a second unit of work opened
    inside the first in the same task would wait for its own caller. PostgreSQL runs both."""
    tenant = a_tenant()
    async with backend.uow() as outer:
        await outer.tenants.add(tenant)
        if backend.name == "postgres":
            async with backend.uow() as inner:
                assert await inner.tenants.get(tenant.id) is None
        else:
            with pytest.raises(RuntimeError, match="already open in this task"):
                async with backend.uow():
                    pass
        await outer.commit()
    async with backend.uow() as uow:
        assert await uow.tenants.get(tenant.id) == tenant
