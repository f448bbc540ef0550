"""Events out through the use cases and the relay, over in-memory doubles: what a booking's
life emits, that a rollback emits nothing, retries on the schedule, and tenant isolation."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.system.ids import RandomIds
from application.cancel_booking import CancelCommand
from application.deliver_events import DeliverEvents
from application.manage_webhook_endpoints import ManageWebhookEndpoints, NewEndpoint
from application.refund_booking import RefundCommand
from domain.booking import BookingStatus, CancelledBy
from domain.events import DeliveryStatus, EndpointStatus, Event, EventType, RetrySchedule
from domain.money import Money
from tests.fakes.clock import ManualClock
from tests.fakes.database import InMemoryDatabase
from tests.fakes.events_out import InMemoryEventsOut, RecordingSender
from tests.unit.application.conftest import START, App, checkout, open_shop
from tests.unit.test_booking import pending

SCHEDULE = RetrySchedule.of_seconds((5, 60))


def _types(app: App) -> list[str]:
    return [e.type.value for e in app.db.events_out]


async def test_a_booking_life_emits_its_events_in_the_changes_transactions(app: App) -> None:
    shop = await open_shop(app)
    assert _types(app) == ["tenant.account_updated", "tenant.account_updated"]
    app.db.events_out.clear()

    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id, "delayed")
    await app.gateway.succeed_delayed_payment(booking.gateway_session_id)
    assert (await app.booking(booking.id)).status is BookingStatus.CONFIRMED
    await app.refund(RefundCommand(shop.tenant_id, booking.id, Money(1000, "usd")))
    await app.cancel(CancelCommand(booking.id, CancelledBy.TENANT, tenant_id=shop.tenant_id))

    assert _types(app) == [
        "booking.awaiting_payment",
        "booking.confirmed",
        "booking.refunded",
        "booking.cancelled",
        "booking.refunded",
    ]
    assert {e.tenant_id for e in app.db.events_out} == {shop.tenant_id}
    last = app.db.events_out[-1].subject
    assert getattr(last, "status", None) is BookingStatus.CANCELLED


async def test_a_lapsed_hold_emits_expired(app: App) -> None:
    shop = await open_shop(app)
    app.db.events_out.clear()
    await app.start_checkout(checkout(shop))
    app.clock.advance(timedelta(hours=1))
    await app.sweep()
    assert _types(app) == ["booking.expired"]


async def test_a_unit_of_work_that_rolls_back_emits_nothing() -> None:
    db = InMemoryDatabase()
    booking = pending()
    event = Event(EventType.BOOKING_EXPIRED, booking.tenant_id, booking.expire())
    async with db.unit_of_work() as uow:
        uow.outbox.add(event)  # left without a commit
    uow = db.unit_of_work()
    async with uow:
        uow.outbox.add(event)
        await uow.rollback()
        await uow.commit()
    assert db.events_out == []


def _relay(store: InMemoryEventsOut, sender: RecordingSender, clock: ManualClock) -> DeliverEvents:
    return DeliverEvents(store.unit_of_work, sender, RandomIds(), clock, schedule=SCHEDULE)


def _manage(store: InMemoryEventsOut, clock: ManualClock) -> ManageWebhookEndpoints:
    return ManageWebhookEndpoints(
        InMemoryDatabase().unit_of_work, store.unit_of_work, RandomIds(), clock
    )


async def test_a_refused_delivery_is_retried_on_the_schedule_then_failed() -> None:
    clock, store = ManualClock(START), InMemoryEventsOut()
    answers = iter([500, 500, 200])
    sender = RecordingSender(lambda _: next(answers))
    manage, relay = _manage(store, clock), _relay(store, sender, clock)
    endpoint = (await manage.register(NewEndpoint(None, "https://hooks.example.com/"))).endpoint
    booking = pending()
    (message,) = store.publish([Event(EventType.BOOKING_EXPIRED, "tn_1", booking)], clock.now())

    first = await relay()
    assert (first.attempted, first.retrying) == (1, 1)
    assert (await relay()).attempted == 0  # not due before the first wait
    clock.advance(timedelta(seconds=5))
    assert (await relay()).retrying == 1
    clock.advance(timedelta(seconds=60))
    assert (await relay()).delivered == 1

    assert [s.message_id for s in sender.sent] == [message.event_id] * 3
    assert {json.loads(s.body)["id"] for s in sender.sent} == {message.event_id}
    (log,) = await manage.deliveries(None, endpoint.id, status=None, after=None, limit=10)
    assert (log.status, log.attempts, log.last_response_status) == (
        DeliveryStatus.DELIVERED,
        3,
        200,
    )

    # Another event, to an endpoint that never answers: failed after the last retry.
    sender.answer = lambda _: None
    store.publish([Event(EventType.BOOKING_EXPIRED, "tn_1", booking)], clock.now())
    for wait in (0, 5, 60):
        clock.advance(timedelta(seconds=wait))
        await relay()
    failed = await manage.deliveries(
        None, endpoint.id, status=DeliveryStatus.FAILED, after=None, limit=10
    )
    assert [(d.attempts, d.next_attempt_at) for d in failed] == [(3, None)]
    # The admin retries it: due now, and delivered once the endpoint answers again.
    sender.answer = lambda _: 204
    await manage.retry(failed[0].id)
    assert (await relay()).delivered == 1


async def test_an_endpoint_failing_every_delivery_for_three_days_is_disabled() -> None:
    clock, store = ManualClock(START), InMemoryEventsOut()
    sender = RecordingSender(lambda _: 503)
    manage, relay = _manage(store, clock), _relay(store, sender, clock)
    endpoint = (await manage.register(NewEndpoint(None, "https://hooks.example.com/"))).endpoint
    for _ in range(4):
        store.publish([Event(EventType.BOOKING_EXPIRED, "tn_1", pending())], clock.now())
        await relay()
        clock.advance(timedelta(days=1))
    assert (await manage.get(None, endpoint.id)).status is EndpointStatus.DISABLED
    store.publish([Event(EventType.BOOKING_EXPIRED, "tn_1", pending())], clock.now())
    sent = len(sender.sent)
    await relay()
    assert len(sender.sent) == sent  # a disabled endpoint hears nothing new


TENANTS = ["tn_a", "tn_b", "tn_c"]


@settings(max_examples=25, deadline=None)
@given(
    endpoints=st.lists(st.sampled_from(TENANTS), min_size=1, max_size=4),
    events=st.lists(
        st.tuples(st.sampled_from(TENANTS), st.sampled_from(list(EventType))), max_size=12
    ),
)
def test_a_tenant_endpoint_never_receives_another_tenants_event(
    endpoints: list[str], events: list[tuple[str, EventType]]
) -> None:
    async def scenario() -> None:
        clock, store = ManualClock(START), InMemoryEventsOut()
        sender = RecordingSender()
        manage, relay = _manage(store, clock), _relay(store, sender, clock)
        owner_of: dict[str, str] = {}
        for i, tenant_id in enumerate(endpoints):
            url = f"https://{tenant_id}-{i}.example.com/"
            await manage.register(NewEndpoint(tenant_id, url))
            owner_of[url] = tenant_id
        platform = "https://platform.example.com/"
        await manage.register(NewEndpoint(None, platform))
        store.publish([Event(t, tenant_id, pending()) for tenant_id, t in events], clock.now())
        await relay()
        for sent in sender.sent:
            tenant_id = json.loads(sent.body)["tenant_id"]
            if sent.url != platform:
                assert tenant_id == owner_of[sent.url]
        assert sum(s.url == platform for s in sender.sent) == len(events)
        for url, tenant_id in owner_of.items():
            expected = sum(t == tenant_id for t, _ in events)
            assert sum(s.url == url for s in sender.sent) == expected

    asyncio.run(scenario())
