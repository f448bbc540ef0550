"""The SQL outbox and relay store, on SQLite and PostgreSQL: an event is written with the
change it tells or not at all; concurrent relays never claim the same row."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import create_engine
from adapters.sql.events_out_tables import outbox_events
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from adapters.sql.webhook_endpoints import SqlAlchemyEventsOutUnitOfWork
from application.ports.events_out import Delivery, NewDelivery
from domain.events import (
    DeliveryStatus,
    EndpointStatus,
    Event,
    EventType,
    InFlightCaps,
    WebhookEndpoint,
    tenant_events,
)
from domain.tenant import ConnectStatus
from tests.integration.persistence.builders import NOW, a_tenant, new_id

# Caps no test of claiming alone reaches.
WIDE = InFlightCaps(per_owner=1000, per_endpoint=1000)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _undispatched(engine: AsyncEngine, tenant_id: str) -> list[dict[str, object]]:
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        messages = await uow.deliveries.claim_undispatched(10_000)
    return [json.loads(m.body) for m in messages if m.tenant_id == tenant_id]


async def test_an_event_is_written_with_the_commit_and_never_after_a_rollback(
    engine: AsyncEngine,
) -> None:
    tenant = a_tenant()
    async with SqlAlchemyUnitOfWork(engine) as uow:
        await uow.tenants.add(tenant)
        await uow.commit()
    disabled = a_tenant(id=tenant.id, connect=ConnectStatus(account_id="acct_x"))

    async with SqlAlchemyUnitOfWork(engine) as uow:
        await uow.tenants.update(disabled)
        uow.outbox.add(*tenant_events(tenant, disabled))
        # Left without a commit: the change and its event both roll back.
    async with SqlAlchemyUnitOfWork(engine) as uow:
        await uow.tenants.update(disabled)
        uow.outbox.add(*tenant_events(tenant, disabled))
        await uow.rollback()
        await uow.commit()
    assert await _undispatched(engine, tenant.id) == []

    async with SqlAlchemyUnitOfWork(engine) as uow:
        await uow.tenants.update(disabled)
        uow.outbox.add(*tenant_events(tenant, disabled))
        await uow.commit()
    (written,) = await _undispatched(engine, tenant.id)
    assert written["type"] == "tenant.account_updated"
    assert written["tenant_id"] == tenant.id
    assert str(written["id"]).startswith("evt_")
    assert written["data"] == {"id": tenant.id}  # no renderer given: the subject's id only


def _endpoint(**changes: object) -> WebhookEndpoint:
    values: dict[str, object] = {
        "id": new_id("we"),
        "url": "https://hooks.example.com/bookpay",
        "tenant_id": None,
        "owner_tenant_id": None,
        "events": (),
        "status": EndpointStatus.ENABLED,
        "secret": "whsec_" + "A" * 44,
        "created_at": NOW,
    }
    values.update(changes)
    return WebhookEndpoint(**values)  # type: ignore[arg-type]


async def _events_with_deliveries(
    engine: AsyncEngine, count: int, *, tenant_id: str | None = None
) -> tuple[str, str]:
    """A new endpoint of a tenant (a new one unless `tenant_id`) with `count` deliveries
    of as many new events, all pending and due at NOW."""
    tenant = a_tenant() if tenant_id is None else a_tenant(id=tenant_id)
    endpoint = _endpoint(tenant_id=tenant.id, owner_tenant_id=tenant.id)
    async with SqlAlchemyUnitOfWork(engine) as uow:
        if tenant_id is None:
            await uow.tenants.add(tenant)
        for _ in range(count):
            uow.outbox.add(Event(EventType.TENANT_ACCOUNT_UPDATED, tenant.id, tenant))
        await uow.commit()
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        await uow.endpoints.add(endpoint)
        messages = [
            m for m in await uow.deliveries.claim_undispatched(10_000) if m.tenant_id == tenant.id
        ]
        await uow.deliveries.dispatch(
            [m.event_id for m in messages],
            [NewDelivery(new_id("dlv"), endpoint.id, m, NOW) for m in messages],
        )
        await uow.commit()
    return tenant.id, endpoint.id


async def _all(uow: SqlAlchemyEventsOutUnitOfWork, endpoint_id: str) -> list[Delivery]:
    return await uow.deliveries.list_for_endpoint(endpoint_id, status=None, after=None, limit=999)


async def _event_ids(engine: AsyncEngine, tenant_id: str) -> set[str]:
    async with engine.connect() as connection:
        query = select(outbox_events.c.id).where(outbox_events.c.tenant_id == tenant_id)
        return set((await connection.execute(query)).scalars())


async def test_concurrent_relays_claim_each_due_delivery_once(engine: AsyncEngine) -> None:
    _, endpoint_id = await _events_with_deliveries(engine, 12)

    async def claim() -> list[str]:
        async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
            due = await uow.deliveries.claim_due(NOW, NOW + timedelta(seconds=30), 5, WIDE)
            claimed = [d.delivery.id for d in due if d.delivery.endpoint_id == endpoint_id]
            await asyncio.sleep(0.05)  # hold the rows while the others claim
            await uow.commit()
        return claimed

    claims = await asyncio.gather(*(claim() for _ in range(4)))
    # Relays claiming at the same moment rank the same fair candidates and skip the rows
    # another holds: never one delivery twice; what they left is claimed next time.
    while more := await claim():
        claims.append(more)
    everything = [d for batch in claims for d in batch]
    assert len(everything) == len(set(everything)) == 12
    # Leased: none is due again before the lease ends, and each is due once it has.
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        assert await uow.deliveries.claim_due(NOW + timedelta(seconds=29), NOW, 100, WIDE) == []
        again = await uow.deliveries.claim_due(NOW + timedelta(seconds=30), NOW, 100, WIDE)
    mine = [d for d in again if d.delivery.endpoint_id == endpoint_id]
    assert {d.delivery.id for d in mine} == set(everything)
    assert {d.delivery.attempts for d in mine} == {2}


async def test_the_delivery_log_pages_newest_first_and_deleting_the_endpoint_empties_it(
    engine: AsyncEngine,
) -> None:
    tenant_id, endpoint_id = await _events_with_deliveries(engine, 3)
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        first = await uow.deliveries.list_for_endpoint(
            endpoint_id, status=None, after=None, limit=2
        )
        last = first[-1]
        rest = await uow.deliveries.list_for_endpoint(
            endpoint_id, status=DeliveryStatus.PENDING, after=(last.created_at, last.id), limit=5
        )
        assert len(first) == 2
        assert len(rest) == 1
        assert {d.tenant_id for d in first + rest} == {tenant_id}
        assert await uow.endpoints.delete(endpoint_id, "another-tenant") is False
        assert await uow.endpoints.delete(endpoint_id, tenant_id) is True
        await uow.commit()
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        assert await uow.deliveries.get(first[0].id) is None
        stats = await uow.deliveries.stats(NOW)
    assert stats.attempted >= 0


async def test_claims_are_fair_across_owners_and_capped_per_owner_and_endpoint(
    engine: AsyncEngine,
) -> None:
    """A tenant with a backlog on two endpoints, due first, and another tenant's one
    delivery, due last: the other's is claimed in the first batch, the backlog only up to
    the caps of what is in flight, and more of it once an outcome is recorded."""
    slow_tenant, slow_endpoint = await _events_with_deliveries(engine, 6)
    _, second_endpoint = await _events_with_deliveries(engine, 6, tenant_id=slow_tenant)
    _, other_endpoint = await _events_with_deliveries(engine, 1)
    caps = InFlightCaps(per_owner=3, per_endpoint=2)
    lease = NOW + timedelta(seconds=30)
    ours = {slow_endpoint, second_endpoint, other_endpoint}

    async def claim(limit: int) -> list[str]:
        async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
            due = await uow.deliveries.claim_due(NOW, lease, limit, caps)
            await uow.commit()
        return [d.delivery.endpoint_id for d in due if d.delivery.endpoint_id in ours]

    first = await claim(1000)
    assert first.count(other_endpoint) == 1
    assert first.count(slow_endpoint) + first.count(second_endpoint) == 3  # the owner's cap
    assert max(first.count(slow_endpoint), first.count(second_endpoint)) <= 2
    assert await claim(1000) == []  # all the owner's room is in flight
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        flying = [d for d in await _all(uow, slow_endpoint) if d.next_attempt_at == lease]
        await uow.deliveries.record(
            flying[0].id,
            attempt=flying[0].attempts,
            status=DeliveryStatus.DELIVERED,
            response_status=200,
            next_attempt_at=None,
        )
        await uow.commit()
    assert len(await claim(1000)) == 1  # the room one outcome left


async def test_finished_deliveries_and_spent_events_are_purged_after_the_retention(
    engine: AsyncEngine,
) -> None:
    tenant_id, endpoint_id = await _events_with_deliveries(engine, 3)
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        delivered, failed, pending = await _all(uow, endpoint_id)
        for delivery, status in (
            (delivered, DeliveryStatus.DELIVERED),
            (failed, DeliveryStatus.FAILED),
        ):
            await uow.deliveries.record(
                delivery.id,
                attempt=delivery.attempts,
                status=status,
                response_status=200,
                next_attempt_at=None,
            )
        await uow.commit()
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        # Not yet old enough: nothing of ours goes.
        await uow.deliveries.purge(NOW, 10_000)
        assert len(await _all(uow, endpoint_id)) == 3
        purged = 0
        while deleted := await uow.deliveries.purge(NOW + timedelta(seconds=1), 1):
            purged += deleted
        await uow.commit()
    assert purged >= 4  # two deliveries and their two events, in batches of one
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        assert [d.id for d in await _all(uow, endpoint_id)] == [pending.id]
        assert await uow.deliveries.get(delivered.id) is None
    assert await _event_ids(engine, tenant_id) == {
        pending.event_id
    }  # the pending delivery's event stays


async def test_a_stale_relays_outcome_changes_nothing(engine: AsyncEngine) -> None:
    """Relay A claims, stalls past its lease; relay B claims the same delivery again. A's
    outcome, whenever it comes, neither overwrites B's nor clears B's lease."""
    _, endpoint_id = await _events_with_deliveries(engine, 1)

    async def claim(at: timedelta) -> Delivery:
        async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
            lease = NOW + at + timedelta(seconds=30)
            due = await uow.deliveries.claim_due(NOW + at, lease, 1000, WIDE)
            await uow.commit()
        (mine,) = [d.delivery for d in due if d.delivery.endpoint_id == endpoint_id]
        return mine

    async def record(claimed: Delivery, status: DeliveryStatus, response: int) -> bool:
        async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
            applied = await uow.deliveries.record(
                claimed.id,
                attempt=claimed.attempts,
                status=status,
                response_status=response,
                next_attempt_at=None,
            )
            await uow.commit()
        return applied

    stale = await claim(timedelta(0))
    fresh = await claim(timedelta(seconds=30))  # A's lease has ended
    assert (stale.attempts, fresh.attempts) == (1, 2)
    assert await record(stale, DeliveryStatus.FAILED, 500) is False
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        (still,) = await _all(uow, endpoint_id)
    assert (still.status, still.next_attempt_at) == (DeliveryStatus.PENDING, fresh.next_attempt_at)
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:  # B's lease is still held
        assert await uow.deliveries.claim_due(NOW + timedelta(seconds=31), NOW, 1000, WIDE) == []
    assert await record(fresh, DeliveryStatus.DELIVERED, 200) is True
    assert await record(stale, DeliveryStatus.FAILED, 500) is False
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        (done,) = await _all(uow, endpoint_id)
    assert (done.status, done.last_response_status) == (DeliveryStatus.DELIVERED, 200)


@pytest.fixture(params=["sqlite", pytest.param("migrated_postgres", marks=pytest.mark.postgres)])
def own_database_url(request: pytest.FixtureRequest) -> str:
    """A database of the test's own (metrics see every row)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def own_engine(own_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(own_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_disabled_endpoints_deliveries_wait_pending_until_it_is_enabled(
    own_engine: AsyncEngine,
) -> None:
    engine = own_engine
    _, endpoint_id = await _events_with_deliveries(engine, 2)

    async def set_status(status: EndpointStatus) -> None:
        async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
            (endpoint,) = await uow.endpoints.get_any([endpoint_id])
            await uow.endpoints.update(replace(endpoint, status=status))
            await uow.commit()

    async def claimed(at: datetime) -> list[Delivery]:
        async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
            due = await uow.deliveries.claim_due(at, at + timedelta(seconds=30), 1000, WIDE)
            await uow.commit()
        return [d.delivery for d in due if d.delivery.endpoint_id == endpoint_id]

    await set_status(EndpointStatus.DISABLED)
    later = NOW + timedelta(days=2)
    assert await claimed(later) == []
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        waiting = await _all(uow, endpoint_id)
        stats = await uow.deliveries.stats(later)
    assert {(d.status, d.attempts) for d in waiting} == {(DeliveryStatus.PENDING, 0)}
    assert stats.oldest_due_since is None  # waiting is not "due"
    await set_status(EndpointStatus.ENABLED)
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        assert (await uow.deliveries.stats(later)).oldest_due_since == NOW
    assert len(await claimed(later)) == 2

    # Left disabled past the retention, what waits for it is purged.
    await set_status(EndpointStatus.DISABLED)
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        while await uow.deliveries.purge(NOW + timedelta(seconds=1), 100):
            pass
        assert await _all(uow, endpoint_id) == []
        await uow.commit()


async def test_an_owner_cannot_pass_its_endpoint_cap_even_registering_at_once(
    engine: AsyncEngine,
) -> None:
    tenant = a_tenant()
    async with SqlAlchemyUnitOfWork(engine) as uow:
        await uow.tenants.add(tenant)
        await uow.commit()

    async def register() -> bool:
        endpoint = _endpoint(tenant_id=tenant.id, owner_tenant_id=tenant.id)
        async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
            added = await uow.endpoints.add(endpoint, max_per_owner=3)
            await asyncio.sleep(0.02)  # hold the transaction while the others register
            await uow.commit()
        return added

    added = await asyncio.gather(*(register() for _ in range(6)))
    assert sorted(added) == [False] * 3 + [True] * 3
    async with SqlAlchemyEventsOutUnitOfWork(engine) as events_out:
        assert len(await events_out.endpoints.list(tenant.id, after=None, limit=99)) == 3
        assert await events_out.endpoints.add(_endpoint(), max_per_owner=3)  # the platform's own
        await events_out.commit()
