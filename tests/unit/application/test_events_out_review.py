"""Events out after the second review (issue 17): a relay that outlived its lease records
nothing, a disabled endpoint's deliveries wait for it instead of failing, and an owner has
a bounded number of endpoints."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.system.ids import RandomIds
from application.deliver_events import DeliverEvents
from application.errors import Conflict
from application.manage_webhook_endpoints import (
    EndpointChanges,
    ManageWebhookEndpoints,
    NewEndpoint,
)
from domain.events import DeliveryStatus, EndpointStatus, Event, EventType, RetrySchedule
from tests.fakes.clock import ManualClock
from tests.fakes.database import InMemoryDatabase
from tests.fakes.events_out import InMemoryEventsOut, RecordingSender
from tests.unit.application.conftest import START
from tests.unit.test_booking import pending

SCHEDULE = RetrySchedule.of_seconds((5, 60))
URL = "https://hooks.example.com/"


def _world(
    answer: int | None = 200, *, max_endpoints: int = 16
) -> tuple[ManualClock, InMemoryEventsOut, RecordingSender, ManageWebhookEndpoints, DeliverEvents]:
    clock, store = ManualClock(START), InMemoryEventsOut()
    sender = RecordingSender(lambda _: answer)
    manage = ManageWebhookEndpoints(
        InMemoryDatabase().unit_of_work,
        store.unit_of_work,
        RandomIds(),
        clock,
        max_endpoints_per_owner=max_endpoints,
    )
    relay = DeliverEvents(store.unit_of_work, sender, RandomIds(), clock, schedule=SCHEDULE)
    return clock, store, sender, manage, relay


def _expired(store: InMemoryEventsOut, clock: ManualClock) -> None:
    store.publish([Event(EventType.BOOKING_EXPIRED, "tn_1", pending())], clock.now())


async def test_deliveries_wait_while_their_endpoint_is_disabled_for_maintenance() -> None:
    clock, store, sender, manage, relay = _world(500)
    endpoint = (await manage.register(NewEndpoint(None, URL))).endpoint
    _expired(store, clock)
    assert (await relay()).retrying == 1  # tried once, refused: pending, retried in 5 s
    await manage.change(None, endpoint.id, EndpointChanges(status=EndpointStatus.DISABLED))
    clock.advance(timedelta(hours=1))  # well past the last retry
    report = await relay()
    assert (report.attempted, report.failed, len(sender.sent)) == (0, 0, 1)
    (waiting,) = await manage.deliveries(None, endpoint.id, status=None, after=None, limit=9)
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 1)

    sender.answer = lambda _: 200
    await manage.change(None, endpoint.id, EndpointChanges(status=EndpointStatus.ENABLED))
    assert (await relay()).delivered == 1
    (delivered,) = await manage.deliveries(None, endpoint.id, status=None, after=None, limit=9)
    assert (delivered.status, delivered.attempts) == (DeliveryStatus.DELIVERED, 2)


async def test_an_endpoint_disabled_for_failing_keeps_its_pending_deliveries() -> None:
    clock, store, sender, manage, relay = _world(503)
    endpoint = (await manage.register(NewEndpoint(None, URL))).endpoint
    for _ in range(4):
        _expired(store, clock)
        await relay()
        clock.advance(timedelta(days=1))
    assert (await manage.get(None, endpoint.id)).status is EndpointStatus.DISABLED
    log = await manage.deliveries(None, endpoint.id, status=None, after=None, limit=9)
    waiting = [d for d in log if d.status is DeliveryStatus.PENDING]
    assert waiting  # the last event's retries were cut short by the disabling, not failed
    sender.answer = lambda _: 200
    await manage.change(None, endpoint.id, EndpointChanges(status=EndpointStatus.ENABLED))
    assert (await relay()).delivered == len(waiting)


async def test_a_disabled_endpoints_waiting_deliveries_are_purged_after_the_retention() -> None:
    clock, store, _, manage, relay = _world(500)
    endpoint = (await manage.register(NewEndpoint(None, URL))).endpoint
    _expired(store, clock)
    await relay()
    await manage.change(None, endpoint.id, EndpointChanges(status=EndpointStatus.DISABLED))
    async with store.unit_of_work() as uow:
        assert await uow.deliveries.purge(clock.now() - timedelta(seconds=1), 100) == 0
        assert await uow.deliveries.purge(clock.now() + timedelta(seconds=1), 100) >= 1
        await uow.commit()
    assert await manage.deliveries(None, endpoint.id, status=None, after=None, limit=9) == []


async def test_an_owner_has_at_most_the_configured_number_of_endpoints() -> None:
    *_, manage, _ = _world(max_endpoints=2)
    first = (await manage.register(NewEndpoint("tn_1", URL + "1"))).endpoint
    await manage.register(NewEndpoint("tn_1", URL + "2"))
    with pytest.raises(Conflict, match="at most 2 webhook endpoints"):
        await manage.register(NewEndpoint("tn_1", URL + "3"))
    await manage.register(NewEndpoint("tn_2", URL))  # another owner's room is its own
    await manage.register(NewEndpoint(None, URL))  # and the platform's
    await manage.delete("tn_1", first.id)
    await manage.register(NewEndpoint("tn_1", URL + "3"))  # deleting one makes room


async def test_a_relay_that_outlived_its_lease_records_nothing() -> None:
    """Relay A's attempt hangs past its lease; relay B takes the delivery over and gets a
    200. A's late 500 neither turns it back to pending nor counts against the endpoint."""
    clock, store, sender, manage, _ = _world()
    stalled: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
    sender.answer = lambda _: stalled

    def relay() -> DeliverEvents:
        hour = timedelta(hours=1)  # no real-time wait ends anything here
        return DeliverEvents(
            store.unit_of_work,
            sender,
            RandomIds(),
            clock,
            schedule=SCHEDULE,
            lease=timedelta(seconds=30),
            attempt_timeout=hour,
            poll=hour,
        )

    endpoint = (await manage.register(NewEndpoint(None, URL))).endpoint
    _expired(store, clock)
    relay_a = asyncio.create_task(relay()())
    for _ in range(1000):
        if sender.sent:
            break
        await asyncio.sleep(0)
    clock.advance(timedelta(seconds=31))  # A's lease has ended
    sender.answer = lambda _: 200
    assert (await relay()()).delivered == 1
    stalled.set_result(500)
    late = await relay_a
    assert (late.stale, late.attempted, late.retrying) == (1, 0, 0)
    (delivery,) = await manage.deliveries(None, endpoint.id, status=None, after=None, limit=9)
    assert (delivery.status, delivery.attempts, delivery.last_response_status) == (
        DeliveryStatus.DELIVERED,
        2,
        200,
    )
    assert (await manage.get(None, endpoint.id)).failing_since is None
