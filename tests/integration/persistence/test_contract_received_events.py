"""The repository contract for received events (the `queue` webhook mode's store).

Every adapter keeps these promises: each test runs on the in-memory fake, on SQLite and on
PostgreSQL (see `backend`). The worker's PostgreSQL database is shared by its tests, and a
claim takes whatever is due: each test starts from an empty queue.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete

from adapters.sql import orm
from application.ports.gateway import WebhookEndpoint
from application.ports.unit_of_work import QueueDepth, ReceivedEvent
from tests.integration.persistence.builders import NOW, new_id
from tests.integration.persistence.conftest import Backend

LEASE = timedelta(minutes=5)


@pytest.fixture(autouse=True)
async def _empty_queue(backend: Backend) -> None:
    async with backend.uow() as uow:
        connection = getattr(uow, "connection", None)  # the SQL adapters' only
        if connection is not None:
            await connection.execute(delete(orm.received_events))
            await uow.commit()


def _event(
    *, at: timedelta = timedelta(0), endpoint: WebhookEndpoint = WebhookEndpoint.PLATFORM
) -> ReceivedEvent:
    event_id = new_id("evt")
    body = b'{"id": "%s", "object": "event", "nul": "\\u0000"}' % event_id.encode()
    return ReceivedEvent(event_id, endpoint, body, NOW + at)


async def _receive(backend: Backend, *events: ReceivedEvent) -> list[bool]:
    async with backend.uow() as uow:
        results = [await uow.received_events.receive(event) for event in events]
        await uow.commit()
    return results


async def _claim(
    backend: Backend, *, after: timedelta = timedelta(0), limit: int = 10
) -> list[ReceivedEvent]:
    async with backend.uow() as uow:
        claimed = await uow.received_events.claim(NOW + after, LEASE, limit)
        await uow.commit()
    return claimed


async def test_an_event_is_received_once_and_claimed_with_its_raw_body(backend: Backend) -> None:
    event = _event(endpoint=WebhookEndpoint.CONNECT)
    assert await _receive(backend, event, event) == [True, False]
    assert await _receive(backend, event) == [False]

    claimed = await _claim(backend)

    assert [(c.event_id, c.endpoint, c.payload, c.attempts) for c in claimed] == [
        (event.event_id, WebhookEndpoint.CONNECT, event.payload, 1)
    ]
    assert claimed[0].received_at == event.received_at


async def test_a_rolled_back_receipt_keeps_nothing(backend: Backend) -> None:
    event = _event()
    async with backend.uow() as uow:
        assert await uow.received_events.receive(event)
    assert await _claim(backend) == []
    assert await _receive(backend, event) == [True]


async def test_claims_take_the_oldest_first_up_to_the_limit_and_never_twice(
    backend: Backend,
) -> None:
    events = [_event(at=timedelta(seconds=n)) for n in (3, 1, 2)]
    await _receive(backend, *events)

    first = await _claim(backend, after=timedelta(seconds=5), limit=2)
    second = await _claim(backend, after=timedelta(seconds=5), limit=2)

    assert [e.event_id for e in first] == [events[1].event_id, events[2].event_id]
    assert [e.event_id for e in second] == [events[0].event_id]
    assert await _claim(backend, after=timedelta(seconds=5)) == []


async def test_a_claim_whose_lease_ran_out_is_claimed_again(backend: Backend) -> None:
    event = _event()
    await _receive(backend, event)
    assert len(await _claim(backend)) == 1

    assert await _claim(backend, after=LEASE - timedelta(seconds=1)) == []
    again = await _claim(backend, after=LEASE)

    assert [(e.event_id, e.attempts) for e in again] == [(event.event_id, 2)]


async def test_done_forgets_the_event(backend: Backend) -> None:
    event, other = _event(), _event()
    await _receive(backend, event, other)
    await _claim(backend)
    async with backend.uow() as uow:
        await uow.received_events.done(event.event_id)
        await uow.received_events.done(event.event_id)  # gone: nothing
        await uow.commit()

    again = await _claim(backend, after=LEASE)

    assert [e.event_id for e in again] == [other.event_id]
    assert await _receive(backend, event) == [True]  # a redelivery later is new


async def test_retry_later_releases_the_claim_until_then(backend: Backend) -> None:
    event = _event()
    await _receive(backend, event)
    await _claim(backend)
    async with backend.uow() as uow:
        await uow.received_events.retry_later(
            event.event_id, NOW + timedelta(seconds=30), "GatewayUnavailable: " + "x" * 500
        )
        await uow.commit()

    assert await _claim(backend, after=timedelta(seconds=29)) == []
    again = await _claim(backend, after=timedelta(seconds=30))

    assert [(e.event_id, e.attempts) for e in again] == [(event.event_id, 2)]


async def test_depth_counts_what_waits_and_the_oldest_arrival(backend: Backend) -> None:
    async with backend.uow() as uow:
        assert await uow.received_events.depth() == QueueDepth(0, None)
    events = [_event(at=timedelta(seconds=n)) for n in (2, 1)]
    await _receive(backend, *events)
    await _claim(backend, limit=1)  # claimed ones still wait

    async with backend.uow() as uow:
        assert await uow.received_events.depth() == QueueDepth(2, NOW + timedelta(seconds=1))
