"""Events out stay fair across owners (issue 17): one tenant's slow endpoints hold back its
own deliveries only. Checked by the order of what the relay sends while the slow ones hang,
never by how long anything takes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from adapters.system.ids import RandomIds
from application.deliver_events import DeliverEvents
from application.manage_webhook_endpoints import ManageWebhookEndpoints, NewEndpoint
from domain.events import DeliveryStatus, Event, EventType, InFlightCaps, RetrySchedule
from tests.fakes.clock import ManualClock
from tests.fakes.database import InMemoryDatabase
from tests.fakes.events_out import InMemoryEventsOut, RecordingSender
from tests.unit.application.conftest import START
from tests.unit.test_booking import pending

SCHEDULE = RetrySchedule.of_seconds((5, 60))


class Hanging:
    """An endpoint's answers held until released; counts how many hang at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.now = 0
        self.most = 0

    async def answer(self) -> int:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await self.release.wait()
        finally:
            self.now -= 1
        return 200


def _manage(store: InMemoryEventsOut, clock: ManualClock) -> ManageWebhookEndpoints:
    # A platform that lets a tenant have 100 endpoints (the default cap is 16).
    return ManageWebhookEndpoints(
        InMemoryDatabase().unit_of_work,
        store.unit_of_work,
        RandomIds(),
        clock,
        max_endpoints_per_owner=100,
    )


def _relay(
    store: InMemoryEventsOut, sender: RecordingSender, clock: ManualClock, **options: object
) -> DeliverEvents:
    return DeliverEvents(
        store.unit_of_work,
        sender,
        RandomIds(),
        clock,
        schedule=SCHEDULE,
        **options,  # type: ignore[arg-type]
    )


async def _until(condition: object, turns: int = 2000) -> None:
    """Lets the relay run (event-loop turns, no clock) until `condition()` holds."""
    for _ in range(turns):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0)


async def test_another_tenants_delivery_is_sent_while_a_slow_tenants_backlog_hangs() -> None:
    clock, store = ManualClock(START), InMemoryEventsOut()
    manage = _manage(store, clock)
    for i in range(100):
        await manage.register(NewEndpoint("tn_slow", f"https://slow-{i}.example.com/"))
    await manage.register(NewEndpoint("tn_other", "https://other.example.com/"))
    booking = pending()
    # The slow tenant's 100 deliveries are due first, the other's last.
    store.publish([Event(EventType.BOOKING_EXPIRED, "tn_slow", booking)], clock.now())
    store.publish([Event(EventType.BOOKING_EXPIRED, "tn_other", booking)], clock.now())
    slow = Hanging()
    order: list[str] = []

    def answer(url: str) -> object:
        order.append("other" if "other" in url else "slow")
        return 200 if "other" in url else slow.answer()

    sender = RecordingSender(answer)  # type: ignore[arg-type]
    caps = InFlightCaps(per_owner=5, per_endpoint=2)
    relay = asyncio.create_task(_relay(store, sender, clock, caps=caps, concurrency=50)())
    try:
        await _until(lambda: "other" in order)
        assert "other" in order  # sent while every slow delivery sent so far still hangs
        assert order.count("slow") <= 5  # no more of its backlog than its cap
        assert slow.now == order.count("slow")
    finally:
        slow.release.set()
    report = await relay
    assert report.delivered == 101
    assert slow.most <= 5  # never more than its cap in flight


async def test_one_endpoint_has_no_more_in_flight_than_its_cap() -> None:
    clock, store = ManualClock(START), InMemoryEventsOut()
    manage = _manage(store, clock)
    await manage.register(NewEndpoint(None, "https://hooks.example.com/"))
    store.publish(
        [Event(EventType.BOOKING_EXPIRED, f"tn_{i}", pending()) for i in range(10)], clock.now()
    )
    slow = Hanging()
    sender = RecordingSender(lambda _: slow.answer())
    relay = asyncio.create_task(
        _relay(store, sender, clock, caps=InFlightCaps(per_owner=10, per_endpoint=2))()
    )
    await _until(lambda: slow.now == 2)
    await _until(lambda: False, turns=200)  # room for more, were the cap not there
    assert len(sender.sent) == 2
    slow.release.set()
    assert (await relay).delivered == 10
    assert slow.most == 2


async def test_an_attempt_that_never_answers_times_out_and_is_retried() -> None:
    clock, store = ManualClock(START), InMemoryEventsOut()
    manage = _manage(store, clock)
    hung = (await manage.register(NewEndpoint(None, "https://hung.example.com/"))).endpoint
    await manage.register(NewEndpoint(None, "https://fine.example.com/"))
    store.publish([Event(EventType.BOOKING_EXPIRED, "tn_1", pending())], clock.now())
    never = asyncio.Event()

    async def no_answer() -> int:
        await never.wait()
        return 200

    sender = RecordingSender(lambda url: no_answer() if "hung" in url else 200)
    relay = _relay(store, sender, clock, attempt_timeout=timedelta(milliseconds=20))
    report = await relay()
    assert (report.attempted, report.delivered, report.retrying) == (2, 1, 1)
    (log,) = await manage.deliveries(None, hung.id, status=None, after=None, limit=10)
    assert (log.status, log.last_response_status) == (DeliveryStatus.PENDING, None)
    assert log.next_attempt_at == clock.now() + timedelta(seconds=5)
