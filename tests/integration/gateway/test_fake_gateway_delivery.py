"""The fake Stripe's events: shaped like Stripe's, delivered with retries and fresh
signatures, listed and resent, shared by processes."""

from __future__ import annotations

import asyncio
import json

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from adapters.stripe_wire import signature as stripe_signature
from application.errors import NotFound
from application.ports.gateway import WebhookEndpoint
from domain.tenant import ChargeModel
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore
from tests.integration.gateway.conftest import PUBLIC_BASE_URL
from tests.integration.gateway.fake_gateway_steps import open_session
from tests.support.gateway_doubles import FixedClock, RecordedSleeps, WebhookInbox
from tests.support.gateway_requests import (
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    refund_request,
)
from tests.support.stripe_openapi import stripe_openapi

# Far beyond anything the test waits for: only a hang would reach it.
SAFETY_NET_SECONDS = 10

# --- Stripe-shaped events ---------------------------------------------------------------------

SCHEMAS = {
    "checkout.session.completed": "checkout.session",
    "checkout.session.async_payment_succeeded": "checkout.session",
    "checkout.session.async_payment_failed": "checkout.session",
    "checkout.session.expired": "checkout.session",
    "account.updated": "account",
    "charge.refunded": "charge",
    "charge.dispute.created": "dispute",
    "charge.dispute.funds_withdrawn": "dispute",
    "charge.dispute.closed": "dispute",
    "charge.dispute.funds_reinstated": "dispute",
    "application_fee.refunded": "application_fee",
}


async def test_every_event_is_shaped_like_stripes(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock, ChargeModel.DIRECT)
    assert session.account_id is not None
    await fake_gateway.complete_onboarding(session.account_id)
    intent = (await fake_gateway.pay(session.session_id)).session.payment_intent_id
    assert intent is not None
    await fake_gateway.refund(
        refund_request(intent, 100, charge_model=ChargeModel.DIRECT, account_id=session.account_id)
    )
    dispute_id = await fake_gateway.open_dispute(intent, account_id=session.account_id)
    await fake_gateway.close_dispute(dispute_id, won=True)
    other = await open_session(fake_gateway, inbox, clock, booking_id="bk_0002")
    await fake_gateway.decline(other.session_id)
    third = await open_session(fake_gateway, inbox, clock, booking_id="bk_0003")
    await fake_gateway.pay(third.session_id, method="delayed")
    await fake_gateway.pay(third.session_id)
    fourth = await open_session(fake_gateway, inbox, clock, booking_id="bk_0004")
    await fake_gateway.expire(fourth.session_id)

    events = [json.loads(event.payload) for event in await fake_gateway.list_events()]
    assert {event["type"] for event in events} == set(SCHEMAS)
    validator = stripe_openapi()
    for event in events:
        assert validator.object_errors(event, "event") == []
        assert event["api_version"] == "2023-08-16"
        assert validator.object_errors(event["data"]["object"], SCHEMAS[event["type"]]) == []


# --- Delivery ---------------------------------------------------------------------------------


class AdvancingSleep(RecordedSleeps):
    """Sleeping moves the test clock, so each retry is signed at its own time."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self._clock = clock

    async def __call__(self, delay: float) -> None:
        await super().__call__(delay)
        self._clock.advance(seconds=delay)


def _fake(inbox: WebhookInbox, clock: FixedClock, sleep: RecordedSleeps) -> FakeGateway:
    return FakeGateway(
        store=InMemoryFakeStripeStore(),
        public_base_url=PUBLIC_BASE_URL,
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        deliver=inbox,
        clock=clock,
        retry_delays=(1.0, 5.0, 30.0),
        sleep=sleep,
    )


async def test_a_failed_delivery_is_retried_with_backoff_and_a_fresh_signature(
    inbox: WebhookInbox, clock: FixedClock
) -> None:
    sleep = AdvancingSleep(clock)
    fake = _fake(inbox, clock, sleep)
    session = await open_session(fake, inbox, clock)
    inbox.answer_next(500, ConnectionError("refused"))

    await fake.pay(session.session_id)
    await fake.wait_for_deliveries()

    assert sleep.delays == [1.0, 5.0]
    assert len(inbox.deliveries) == 3
    assert len(set(inbox.event_ids())) == 1
    signatures = [d.headers["Stripe-Signature"] for d in inbox.deliveries]
    assert len(set(signatures)) == 3
    event, _onboarded = await fake.list_events()
    assert event.type == "checkout.session.completed"
    assert event.delivered
    assert event.attempts == 3


async def test_delivery_gives_up_after_the_last_retry(
    inbox: WebhookInbox, clock: FixedClock
) -> None:
    sleep = AdvancingSleep(clock)
    fake = _fake(inbox, clock, sleep)
    session = await open_session(fake, inbox, clock)
    inbox.answer_next(*[503] * 10)

    await fake.pay(session.session_id)
    await fake.wait_for_deliveries()

    event, _onboarded = await fake.list_events()
    assert not event.delivered
    assert event.attempts == 4
    assert sleep.delays == [1.0, 5.0, 30.0]


async def test_events_are_listed_newest_first_and_can_be_resent(
    fake_gateway: FakeGateway, inbox: WebhookInbox, clock: FixedClock
) -> None:
    session = await open_session(fake_gateway, inbox, clock)
    await fake_gateway.decline(session.session_id)
    completed_id, failed_id = inbox.event_ids()

    clock.advance(minutes=10)
    resent = await fake_gateway.resend_event(completed_id)

    listed = await fake_gateway.list_events(limit=2)
    assert [event.id for event in listed] == [failed_id, completed_id]
    assert resent.id == completed_id
    assert resent.attempts == 2
    assert resent.delivered
    first, _, again = inbox.deliveries
    assert again.body == first.body
    assert again.headers["Stripe-Signature"] != first.headers["Stripe-Signature"]
    assert stripe_signature.verify(
        again.body, again.headers["Stripe-Signature"], WEBHOOK_SECRET, now=clock()
    )
    with pytest.raises(NotFound):
        await fake_gateway.resend_event("evt_unknown")


async def test_the_fake_is_deterministic(clock: FixedClock) -> None:
    runs = []
    for _ in range(2):
        inbox = WebhookInbox()
        fake = _fake(inbox, FixedClock(clock()), RecordedSleeps())
        session = await open_session(fake, inbox, clock)
        await fake.pay(session.session_id)
        runs.append((session, [d.body for d in inbox.deliveries]))

    assert runs[0] == runs[1]


async def test_processes_sharing_a_store_share_the_fake(
    inbox: WebhookInbox, clock: FixedClock
) -> None:
    store = InMemoryFakeStripeStore()
    first, second = (
        FakeGateway(
            store=store,
            public_base_url=PUBLIC_BASE_URL,
            webhook_secret=WEBHOOK_SECRET,
            connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
            deliver=inbox,
            clock=clock,
        )
        for _ in range(2)
    )
    session = await open_session(first, inbox, clock)

    results = await asyncio.gather(
        first.pay(session.session_id), second.pay(session.session_id), return_exceptions=True
    )

    first_answer, second_answer = results
    assert not isinstance(first_answer, BaseException)
    assert second_answer == first_answer
    assert inbox.event_types() == ["checkout.session.completed"]
    assert [event.id for event in await second.list_events(limit=1)] == inbox.event_ids()


async def test_the_first_attempt_is_the_writers_even_while_the_periodic_deliverer_runs(
    clock: FixedClock,
) -> None:
    """Every server process runs `deliver_due` each second. Had it taken a freshly written
    event while the writer was posting the one before, the writer would answer with that
    event still in flight (and a test reading the events right after would see it not yet
    delivered): a written event is the writer's to attempt first."""
    inbox = WebhookInbox()
    periodic: asyncio.Task[int] | None = None
    periodic_posting = asyncio.Event()
    periodic_may_finish = asyncio.Event()
    refunding = False

    async def deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        nonlocal periodic
        if refunding and periodic is None:  # the writer's first post: the periodic runs now
            periodic = asyncio.create_task(fake.deliver_due())
            posting = asyncio.create_task(periodic_posting.wait())
            await asyncio.wait({periodic, posting}, return_when=asyncio.FIRST_COMPLETED)
            posting.cancel()
        elif periodic is not None and asyncio.current_task() is periodic:
            periodic_posting.set()
            await periodic_may_finish.wait()
        return await inbox(endpoint, body, headers)

    fake = FakeGateway(
        store=InMemoryFakeStripeStore(),
        public_base_url=PUBLIC_BASE_URL,
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        deliver=deliver,
        clock=clock,
    )
    session = await open_session(fake, inbox, clock)
    intent = (await fake.pay(session.session_id)).session.payment_intent_id
    assert intent is not None
    refunding = True

    async with asyncio.timeout(SAFETY_NET_SECONDS):
        await fake.refund_payment(intent, amount=100, refund_application_fee=True)
        listed = await fake.list_events(limit=2)
        periodic_may_finish.set()
        assert periodic is not None
        taken_by_the_periodic = await periodic

    assert {event.type: event.delivered for event in listed} == {
        "application_fee.refunded": True,
        "charge.refunded": True,
    }
    assert taken_by_the_periodic == 0
