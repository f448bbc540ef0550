"""The repository contract for tenants, API keys, fee policies and offerings.

Every adapter of the persistence ports keeps these promises: each test runs on the
in-memory fakes, on SQLite and on PostgreSQL (see `backend`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from application.errors import NotFound
from application.ports.repositories import AlreadyExists, ConcurrentUpdate
from domain.fee_quote import FeePolicyRef, FeePolicyScope
from domain.fees import FeePolicy
from domain.tenant import ConnectStatus
from tests.integration.persistence.builders import (
    NOW,
    a_fee_policy,
    a_tenant,
    an_offering,
    new_id,
    seed,
)
from tests.integration.persistence.conftest import Backend

# --- tenants --------------------------------------------------------------------------------


async def test_a_tenant_round_trips_with_its_connect_status(backend: Backend) -> None:
    tenant = a_tenant()
    await seed(backend, tenant)
    async with backend.uow() as uow:
        assert await uow.tenants.get(tenant.id) == tenant
        assert await uow.tenants.get_by_slug(tenant.slug) == tenant
        assert tenant.connect.account_id is not None
        assert await uow.tenants.find_by_account_id(tenant.connect.account_id) == tenant
        assert await uow.tenants.get(new_id("tn")) is None
        assert await uow.tenants.get_by_slug("nobody") is None


async def test_a_tenant_update_is_saved(backend: Backend) -> None:
    tenant = a_tenant(connect=ConnectStatus())
    await seed(backend, tenant)
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
    await seed(backend, tenant)
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
    await seed(backend, tenant)
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
    await seed(backend, tenant)
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
    await seed(backend, *tenants)
    async with backend.uow() as uow:
        first = await uow.tenants.list(after=prefix, limit=2)
        rest = await uow.tenants.list(after=first[-1].id, limit=1)
    assert [t.id for t in first + rest] == [f"{prefix}{s}" for s in "abc"]


async def test_api_keys_find_their_tenant_until_revoked(backend: Backend) -> None:
    tenant, other = a_tenant(), a_tenant()
    await seed(backend, tenant, other)
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
    await seed(backend, tenant, other)
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
    await seed(backend, tenant)
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
    await seed(backend, tenant, offering, plain)
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
    await seed(backend, tenant, offering)
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
    await seed(backend, tenant)
    async with backend.uow() as uow:
        assert await uow.tenants.lock_pricing(tenant.id)
        assert await uow.tenants.lock_pricing(tenant.id)  # again, in the same unit of work
        assert not await uow.tenants.lock_pricing(new_id("tn"))


async def test_the_tenants_policy_is_named_as_the_tenants(backend: Backend) -> None:
    tenant = a_tenant()
    await seed(backend, tenant)
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
    await seed(backend, tenant, kayak, canoe)
    async with backend.uow() as uow:
        await uow.offerings.update(kayak.archive())
        with pytest.raises(NotFound):
            await uow.offerings.update(an_offering(tenant.id))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.offerings.list(tenant.id) == [canoe]
        everything = await uow.offerings.list(tenant.id, include_archived=True)
        assert everything == [canoe, kayak.archive()]
