"""The `queue` webhook mode: events acknowledged once kept, applied by a paced worker.

AcknowledgeWebhook answers `queued` once the verified body is kept; ApplyReceivedEvents
(the worker's job) applies each once. Exactly once stays decided by the webhook inbox in
the effect's transaction, whatever the queue does: duplicates, an outage of the gateway, a
worker that dies between the effect and `done`. The worker's gateway calls wait for a
limiter, and a duplicate costs none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from types import TracebackType

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from adapters.rate_limits.pacing import PacedGateway
from adapters.stripe_wire.signature import sign
from application.apply_received_events import LEASE, ApplyReceivedEvents, Drained, backoff
from application.errors import InvalidWebhookSignature
from application.payment_events import EventApplied, Outcome
from application.ports.gateway import PaymentGateway, WebhookEndpoint
from application.ports.gateway_events import IgnoredEvent, PaymentEvent
from application.ports.unit_of_work import QueueDepth, ReceivedEvent
from domain.booking import BookingStatus
from domain.ledger import EntryKind
from tests.support.gateway_doubles import SessionsUnreadable
from tests.support.pool_watch import PoolWatch, WatchedGateway
from tests.unit.application.conftest import START, App, Shop, build_app, checkout, open_shop

SECRETS = {WebhookEndpoint.PLATFORM: "whsec_platform", WebhookEndpoint.CONNECT: "whsec_connect"}
COMPLETED = "checkout.session.completed"


class CountingLimiter:
    """A limiter that lets every call through at once and counts them (no timing)."""

    def __init__(self) -> None:
        self.acquired = 0

    async def __aenter__(self) -> None:
        self.acquired += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


def _watched_and_paced(
    watch: PoolWatch, limiter: CountingLimiter
) -> Callable[[PaymentGateway], PaymentGateway]:
    def wrap(gateway: PaymentGateway) -> PaymentGateway:
        return PacedGateway(WatchedGateway(gateway, watch), limiter)

    return wrap


async def _open_shop(app: App, **options: int) -> Shop:
    """open_shop, and the onboarding's events it queued applied."""
    shop = await open_shop(app, **options)  # type: ignore[arg-type]
    await app.drain()
    return shop


async def _paid(app: App, shop: Shop, customer: int = 0) -> str:
    command = replace(checkout(shop, seats=1), customer_email=f"c{customer}@example.com")
    started = await app.start_checkout(command)
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id)
    return booking.id


async def _depth(app: App) -> QueueDepth:
    async with app.db.unit_of_work() as uow:
        return await uow.received_events.depth()


async def _ledger(app: App, shop: Shop, booking_id: str) -> list[tuple[EntryKind, int]]:
    async with app.db.unit_of_work() as uow:
        entries = await uow.ledger.list_for_booking(shop.tenant_id, booking_id)
    return sorted((e.kind, e.amount.amount) for e in entries)


async def _completion(app: App) -> tuple[str, bytes, WebhookEndpoint]:
    (sent,) = [e for e in await app.gateway.list_events() if e.type == COMPLETED]
    return sent.id, sent.payload, sent.endpoint


async def test_a_completion_is_queued_at_once_and_applied_by_the_worker() -> None:
    app = build_app(queue=True)
    shop = await _open_shop(app)

    booking_id = await _paid(app, shop)

    assert (await app.booking(booking_id)).status is BookingStatus.PENDING_PAYMENT
    assert (await _depth(app)).count == 1
    assert await app.drain() == Drained(done=1)
    assert (await app.booking(booking_id)).status is BookingStatus.CONFIRMED
    assert await _depth(app) == QueueDepth(0, None)


async def test_the_answer_says_queued_and_a_redelivery_after_applying_says_duplicate() -> None:
    app = build_app(queue=True)
    shop = await _open_shop(app)
    await _paid(app, shop)
    _, body, endpoint = await _completion(app)
    header = sign(body, SECRETS[endpoint], app.clock.now())

    assert (await app.acknowledge(body, header, endpoint)).outcome is Outcome.QUEUED
    assert (await _depth(app)).count == 1  # queued once
    await app.drain()

    assert (await app.acknowledge(body, header, endpoint)).outcome is Outcome.DUPLICATE
    assert (await _depth(app)).count == 0


@pytest.mark.parametrize(
    ("event_type", "livemode"),
    [("customer.created", b"false"), (COMPLETED, b"true")],
    ids=["a type Bookpay does not act on", "an event of the other mode"],
)
async def test_an_ignored_event_is_answered_at_once_and_not_queued(
    app_queue: App, event_type: str, livemode: bytes
) -> None:
    body = (
        b'{"id": "evt_x", "object": "event", "type": "%s", "created": %d, "livemode": %s, '
        % (
            event_type.encode(),
            int(app_queue.clock.now().timestamp()),
            livemode,
        )
        + b'"data": {"object": {"id": "cus_1", "object": "customer"}}}'
    )
    header = sign(body, SECRETS[WebhookEndpoint.PLATFORM], app_queue.clock.now())

    answer = await app_queue.acknowledge(body, header, WebhookEndpoint.PLATFORM)

    assert answer.outcome is Outcome.IGNORED
    assert (await _depth(app_queue)).count == 0


async def test_a_bad_signature_is_refused_and_nothing_is_queued() -> None:
    app = build_app(queue=True)
    shop = await _open_shop(app)
    await _paid(app, shop)
    await app.drain()
    _, body, endpoint = await _completion(app)
    forged = body.replace(b"evt_", b"evt_forged_")

    with pytest.raises(InvalidWebhookSignature):
        await app.acknowledge(forged, sign(body, SECRETS[endpoint], app.clock.now()), endpoint)

    assert (await _depth(app)).count == 0


async def test_an_event_that_cannot_be_kept_is_not_acknowledged() -> None:
    app = build_app(queue=True)
    shop = await _open_shop(app)
    app.drop_deliveries()
    await _paid(app, shop)
    _, body, endpoint = await _completion(app)
    header = sign(body, SECRETS[endpoint], app.clock.now())

    class Broken(RuntimeError):
        pass

    async def refuse(event: ReceivedEvent) -> bool:
        raise Broken("the database went away")

    original = app.db.unit_of_work

    def breaking_units() -> object:
        unit = original()
        opened = unit._open

        def _open() -> None:
            opened()
            unit._received.receive = refuse  # type: ignore[method-assign]

        unit._open = _open  # type: ignore[method-assign]
        return unit

    app.acknowledge._uow = breaking_units  # type: ignore[assignment]

    with pytest.raises(Broken):
        await app.acknowledge(body, header, endpoint)
    assert (await _depth(app)).count == 0


async def test_with_one_in_five_delivered_twice_each_booking_is_paid_once() -> None:
    app = build_app(queue=True)
    shop = await _open_shop(app, capacity=20, max_seats_per_booking=1)
    bookings = [await _paid(app, shop, n) for n in range(10)]
    completions = [e for e in await app.gateway.list_events() if e.type == COMPLETED]
    for event in completions[:2]:  # redelivered while queued
        await app.gateway.resend_event(event.id)
    assert (await _depth(app)).count == 10

    assert await app.drain() == Drained(done=10)
    for event in completions[2:4]:  # redelivered once applied
        await app.gateway.resend_event(event.id)
    assert await app.drain() == Drained()

    for booking_id in bookings:
        assert (await app.booking(booking_id)).status is BookingStatus.CONFIRMED
        kinds = [kind for kind, _ in await _ledger(app, shop, booking_id)]
        assert kinds.count(EntryKind.CHARGE) == 1
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 10


async def test_an_event_the_gateway_cannot_confirm_is_kept_and_applied_once_it_is_back() -> None:
    outage: list[SessionsUnreadable] = []

    def unreadable(fake: FakeGateway) -> PaymentGateway:
        outage.append(SessionsUnreadable(fake))
        return outage[0]

    app = build_app(unreadable, queue=True)
    shop = await _open_shop(app)
    outage[0].down = True
    booking_id = await _paid(app, shop)

    assert await app.drain() == Drained(retried=1)
    assert await app.drain() == Drained()  # not due before its backoff
    outage[0].down = False
    app.clock.advance(backoff(1))

    assert await app.drain() == Drained(done=1)
    assert (await app.booking(booking_id)).status is BookingStatus.CONFIRMED
    assert [k for k, _ in await _ledger(app, shop, booking_id)].count(EntryKind.CHARGE) == 1


def test_the_backoff_grows_and_is_capped() -> None:
    waits = [backoff(n) for n in range(1, 30)]

    assert waits[:3] == [timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4)]
    assert waits == sorted(waits)
    assert waits[-1] == timedelta(minutes=5)


async def test_a_worker_that_died_after_the_effect_leaves_a_duplicate_that_asks_nothing() -> None:
    watch, limiter = PoolWatch(), CountingLimiter()
    app = build_app(queue=True, worker_gateway=_watched_and_paced(watch, limiter))
    shop = await _open_shop(app)
    watch.calls.clear()
    limiter.acquired = 0
    booking_id = await _paid(app, shop)
    # A worker claims the event, applies it and dies before `done`.
    async with app.db.unit_of_work() as uow:
        (claimed,) = await uow.received_events.claim(app.clock.now(), LEASE, 10)
        await uow.commit()
    event = app.gateway.read_event(claimed.payload, claimed.endpoint)
    assert (await app.apply_event(event)).outcome is Outcome.APPLIED
    ledger = await _ledger(app, shop, booking_id)

    assert await app.drain() == Drained()  # its lease holds
    app.clock.advance(LEASE)
    assert await app.drain() == Drained(done=1)

    assert watch.calls == []
    assert limiter.acquired == 0
    assert await _ledger(app, shop, booking_id) == ledger
    assert (await _depth(app)).count == 0


async def test_the_pace_counts_each_gateway_call_and_nothing_for_a_duplicate() -> None:
    watch, limiter = PoolWatch(), CountingLimiter()
    app = build_app(queue=True, worker_gateway=_watched_and_paced(watch, limiter))
    shop = await _open_shop(app)
    await _paid(app, shop)
    event_id, body, endpoint = await _completion(app)

    await app.drain()
    assert watch.calls  # the completion was checked with the gateway
    assert limiter.acquired == len(watch.calls)
    acquired = limiter.acquired
    async with app.db.unit_of_work() as uow:  # the same event queued again
        await uow.received_events.receive(ReceivedEvent(event_id, endpoint, body, app.clock.now()))
        await uow.commit()

    assert await app.drain() == Drained(done=1)
    assert limiter.acquired == acquired


@pytest.fixture
def app_queue() -> App:
    return build_app(queue=True)


async def test_a_batch_is_applied_a_few_events_at_a_time() -> None:
    """Each event applied holds a database connection in turn: a batch never takes more
    than `concurrency` at once, leaving the rest of the pool to the requests."""
    app = build_app(queue=True)
    in_flight, most = 0, 0

    async def apply(event: PaymentEvent) -> EventApplied:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(3):
            await asyncio.sleep(0)  # let the others of the batch start if they may
        in_flight -= 1
        return EventApplied(Outcome.IGNORED)

    await _keep(app, 7)
    drain = ApplyReceivedEvents(
        app.db.unit_of_work,
        _ReadsIds(),  # type: ignore[arg-type]  # only reads bodies
        apply,
        app.clock,
        concurrency=2,
    )

    assert await drain() == Drained(done=7)
    assert most == 2


async def test_one_slow_event_does_not_hold_back_the_events_claimed_after_it() -> None:
    """Under Stripe's latency a call can take seconds: the worker claims more as each event
    ends, instead of waiting for a whole batch, so the pace, not the slowest call, sets
    how fast a backlog drains."""
    app = build_app(queue=True)
    started: list[str] = []
    slow_done_after: list[str] = []

    async def apply(event: PaymentEvent) -> EventApplied:
        started.append(event.event_id)
        if event.event_id == "evt_0":
            for _ in range(500):  # ends once the last event started, or after many turns
                if "evt_4" in started:
                    break
                await asyncio.sleep(0)
            slow_done_after.extend(started)
        return EventApplied(Outcome.IGNORED)

    await _keep(app, 5)
    drain = ApplyReceivedEvents(
        app.db.unit_of_work,
        _ReadsIds(),  # type: ignore[arg-type]  # only reads bodies
        apply,
        app.clock,
        batch=2,
        concurrency=2,
    )

    assert await drain() == Drained(done=5)
    assert "evt_4" in slow_done_after


async def _keep(app: App, count: int) -> None:
    """`count` received events, evt_0 … evt_{count-1}, each body naming its id."""
    async with app.db.unit_of_work() as uow:
        for n in range(count):
            body = b'{"id": "evt_%d", "object": "event"}' % n
            await uow.received_events.receive(
                ReceivedEvent(f"evt_{n}", WebhookEndpoint.PLATFORM, body, app.clock.now())
            )
        await uow.commit()


class _ReadsIds:
    """Reads a kept body as an ignored event of the id it names."""

    def read_event(self, payload: bytes, endpoint: WebhookEndpoint) -> PaymentEvent:
        event_id = payload.split(b'"')[3].decode()
        return IgnoredEvent(event_id=event_id, created_at=START, account_id=None, type="x")
