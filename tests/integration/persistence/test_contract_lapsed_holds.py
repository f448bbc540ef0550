"""The repository contract for lapsed holds and the sweepers' claims on them.

Every adapter of the persistence ports keeps these promises: each test runs on the
in-memory fakes, on SQLite and on PostgreSQL (see `backend`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.hold import hold_lapsed
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    bookable,
    seed,
)
from tests.integration.persistence.conftest import Backend


async def _claim(backend: Backend, tenant_id: str, now: datetime = NOW, **kw: int) -> list[str]:
    async with backend.uow() as uow:
        claimed = await uow.bookings.claim_lapsed_holds(
            tenant_id, NOW, now=now, claim_until=NOW + timedelta(minutes=5), **kw
        )
        await uow.commit()
    return [b.id for b in claimed]


async def test_lapsed_holds_are_claimed_per_tenant_oldest_first(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend)
    lapsed = a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=5))
    lapsed_earlier = a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=9))
    current = a_booking(slot, seats=1, hold_expires_at=NOW + timedelta(minutes=5))
    paid = a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=5)).confirm("pi")
    await seed(backend, lapsed, lapsed_earlier, current, paid)
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
    tenant, _, slot = await bookable(backend)
    lapsed = a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=5))
    await seed(backend, lapsed)
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


async def test_a_hold_lapses_at_its_end_as_the_domain_says_on_every_backend(
    backend: Backend,
) -> None:
    """One rule at the boundary: a hold ending exactly now has lapsed (`domain.hold.hold_lapsed`),
    and every backend sweeps it; a hold ending a microsecond later has not."""
    tenant, _, slot = await bookable(backend)
    at_the_end = a_booking(slot, seats=1, hold_expires_at=NOW)
    just_after = a_booking(slot, seats=1, hold_expires_at=NOW + timedelta(microseconds=1))
    await seed(backend, at_the_end, just_after)
    assert hold_lapsed(at_the_end.hold_expires_at, NOW)
    assert not hold_lapsed(just_after.hold_expires_at, NOW)

    async with backend.uow() as uow:
        assert tenant.id in await uow.bookings.tenants_with_lapsed_holds(NOW)
        assert tenant.id not in await uow.bookings.tenants_with_lapsed_holds(
            NOW - timedelta(microseconds=1)
        )
    assert await _claim(backend, tenant.id) == [at_the_end.id]
