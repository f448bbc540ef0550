"""The repository contract for the unit of work, and every domain field mapped.

Every adapter of the persistence ports keeps these promises: each test runs on the
in-memory fakes, on SQLite and on PostgreSQL (see `backend`).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC

import pytest

from domain.booking import Booking, Refund
from domain.dispute import (
    Dispute,
    Recovery,
)
from domain.fee_quote import FeeQuote
from domain.fees import FeePolicy
from domain.ledger import LedgerEntry
from domain.offering import Offering, Slot
from domain.tenant import ConnectStatus, Tenant
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    a_tenant,
    bookable,
    seed,
)
from tests.integration.persistence.conftest import Backend

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


async def test_a_read_only_unit_of_work_reads_then_is_a_transaction_again(
    backend: Backend,
) -> None:
    tenant, _, slot = await bookable(backend)
    booking = a_booking(slot)
    await seed(backend, booking)
    uow = backend.uow()
    async with uow.read_only() as unit:
        assert await unit.bookings.get(tenant.id, booking.id) == booking
    dropped = a_tenant()
    async with uow:  # the same unit of work, used again: a transaction as before
        await uow.tenants.add(dropped)
    async with backend.uow() as check:
        assert await check.tenants.get(dropped.id) is None


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
