"""One tenant's repository calls never see, nor change, another tenant's rows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from application.errors import NotFound
from application.ports.unit_of_work import ClaimOutcome
from domain.ledger import EntryKind, LedgerEntry
from domain.money import Money
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


async def test_a_tenant_sees_none_of_another_tenants_rows(backend: Backend) -> None:
    mine, theirs = a_tenant(), a_tenant()
    their_offering = an_offering(theirs.id)
    their_slot = a_slot(their_offering)
    their_booking = a_booking(their_slot, hold_expires_at=NOW).attach_session(new_id("cs"))
    their_entry = LedgerEntry(
        theirs.id, their_booking.id, EntryKind.CHARGE, Money(5_000, "usd"), "pi_t", NOW
    )
    my_offering = an_offering(mine.id)
    async with backend.uow() as uow:
        for tenant in (mine, theirs):
            await uow.tenants.add(tenant)
        await uow.tenants.add_fee_policy(theirs.id, a_fee_policy())
        await uow.offerings.add(their_offering)
        await uow.offerings.add(my_offering)
        await uow.slots.add(their_slot)
        await uow.bookings.add(their_booking)
        assert await uow.ledger.add(their_entry)
        await uow.commit()

    t = mine.id
    async with backend.uow() as uow:
        assert await uow.tenants.active_fee_policy(t) is None
        assert await uow.offerings.get(t, their_offering.id) is None
        assert await uow.offerings.list(t, include_archived=True) == [my_offering]
        assert await uow.slots.get(t, their_slot.id) is None
        assert await uow.slots.list_for_offering(t, their_offering.id) == []
        assert await uow.bookings.get(t, their_booking.id) is None
        assert (await uow.bookings.list(t)).items == ()
        later = NOW.replace(year=2031)
        claimed = await uow.bookings.claim_lapsed_holds(t, later, now=later, claim_until=later)
        assert claimed == []
        assert await uow.ledger.list_for_booking(t, their_booking.id) == []
        assert await uow.ledger.statement(t) == []

        # Nothing of theirs can be changed through my tenant id either.
        for change in (
            uow.slots.try_hold,
            uow.slots.try_book,
            uow.slots.release_hold,
            uow.slots.confirm_hold,
            uow.slots.release_booked,
        ):
            assert not await change(t, their_slot.id, 1)
        with pytest.raises(NotFound):
            await uow.offerings.update(replace(their_offering, tenant_id=t))
        with pytest.raises(NotFound):
            await uow.bookings.update(replace(their_booking, tenant_id=t))
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.slots.get(theirs.id, their_slot.id) == their_slot
        assert await uow.bookings.get(theirs.id, their_booking.id) == their_booking
        assert await uow.offerings.get(theirs.id, their_offering.id) == their_offering


async def test_an_idempotency_key_belongs_to_its_scope(backend: Backend) -> None:
    key = new_id("key")
    async with backend.uow() as uow:
        first = await uow.idempotency.claim("scope-a-" + key, key, "fp-a")
        second = await uow.idempotency.claim("scope-b-" + key, key, "fp-b")
    assert first.outcome is second.outcome is ClaimOutcome.CLAIMED
