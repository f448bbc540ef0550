"""The SQL outbox and relay store, on SQLite and PostgreSQL: an event is written with the
change it tells or not at all; concurrent relays never claim the same row."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import create_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from adapters.sql.webhook_endpoints import SqlAlchemyEventsOutUnitOfWork
from application.ports.events_out import NewDelivery
from domain.events import (
    DeliveryStatus,
    EndpointStatus,
    Event,
    EventType,
    WebhookEndpoint,
    tenant_events,
)
from domain.tenant import ConnectStatus
from tests.integration.persistence.builders import NOW, a_tenant, new_id


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


async def _events_with_deliveries(engine: AsyncEngine, count: int) -> tuple[str, str]:
    tenant = a_tenant()
    endpoint = _endpoint(tenant_id=tenant.id, owner_tenant_id=tenant.id)
    async with SqlAlchemyUnitOfWork(engine) as uow:
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


async def test_concurrent_relays_claim_each_due_delivery_once(engine: AsyncEngine) -> None:
    _, endpoint_id = await _events_with_deliveries(engine, 12)

    async def claim() -> list[str]:
        async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
            due = await uow.deliveries.claim_due(NOW, NOW + timedelta(seconds=30), 5)
            claimed = [d.delivery.id for d in due if d.delivery.endpoint_id == endpoint_id]
            await asyncio.sleep(0.05)  # hold the rows while the others claim
            await uow.commit()
        return claimed

    claims = await asyncio.gather(*(claim() for _ in range(4)))
    everything = [d for batch in claims for d in batch]
    assert len(everything) == len(set(everything))
    # Leased: none is due again before the lease ends, and each is due once it has.
    async with SqlAlchemyEventsOutUnitOfWork(engine) as uow:
        assert await uow.deliveries.claim_due(NOW + timedelta(seconds=29), NOW, 100) == []
        again = await uow.deliveries.claim_due(NOW + timedelta(seconds=30), NOW, 100)
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
