"""The fake Stripe keeps Stripe's guarantees on every store, whatever races or crashes:
one charge per Checkout Session, refunds that never lose an update or exceed the charge,
and events that are delivered from the store, not from one process's memory."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from adapters.fake_stripe.sql_store import SqlAlchemyFakeStripeStore
from adapters.fake_stripe.store import FakeObject, FakeStripeStore
from adapters.sql.database import create_engine
from application.errors import GatewayInvalidRequest
from application.ports.gateway import CheckoutSession, PaymentStatus, SessionStatus
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore
from tests.integration.gateway.conftest import PUBLIC_BASE_URL
from tests.support.gateway_doubles import FixedClock, RecordedSleeps, WebhookInbox
from tests.support.gateway_requests import (
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    checkout_request,
    refund_request,
)

STORES = [
    "in-memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]
DATABASE_STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def store_url(request: pytest.FixtureRequest) -> str | None:
    """The migrated database of the store the test is parametrised with; None in memory."""
    kind = request.param
    if kind == "in-memory":
        return None
    return str(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "postgres_url"))


@pytest.fixture
async def store(store_url: str | None) -> AsyncIterator[FakeStripeStore]:
    if store_url is None:
        yield InMemoryFakeStripeStore()
        return
    engine = create_engine(store_url)
    yield SqlAlchemyFakeStripeStore(engine)
    await engine.dispose()


def process(
    store: FakeStripeStore, clock: FixedClock, inbox: WebhookInbox | None = None
) -> FakeGateway:
    """One server process's fake gateway over the shared store."""
    return FakeGateway(
        store=store,
        public_base_url=PUBLIC_BASE_URL,
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        deliver=inbox or WebhookInbox(),
        clock=clock,
        retry_delays=(1.0, 5.0),
        sleep=RecordedSleeps(),
    )


async def open_session(fake: FakeGateway, clock: FixedClock) -> CheckoutSession:
    """An open session of an onboarded tenant, for a booking id no other test uses."""
    booking_id = f"bk_{uuid.uuid4().hex[:12]}"
    status = await fake.create_connected_account(
        tenant_id="tn_0001", country="de", email=None, idempotency_key=booking_id
    )
    assert status.account_id is not None
    await fake.complete_onboarding(status.account_id)
    return await fake.create_checkout_session(
        checkout_request(status.account_id, clock(), booking_id=booking_id)
    )


async def charges_of(store: FakeStripeStore, booking_id: str | None) -> list[FakeObject]:
    return [
        charge
        for charge in await store.list_objects("charge")
        if charge.body["metadata"].get("booking_id") == booking_id
    ]


# --- One charge per session -------------------------------------------------------------------


@pytest.mark.parametrize("store_url", STORES, indirect=True)
async def test_pay_pressed_eight_times_at_once_charges_once(store: FakeStripeStore) -> None:
    clock = FixedClock()
    inbox = WebhookInbox()
    session = await open_session(process(store, clock), clock)
    inbox.deliveries.clear()

    outcomes = await asyncio.gather(
        *(process(store, clock, inbox).pay(session.session_id) for _ in range(8))
    )

    assert {outcome.redirect_url for outcome in outcomes} == {
        "https://shop.example/bookings/bk_0001/thanks"
    }
    [charge] = await charges_of(store, session.booking_id)
    intents = {outcome.session.payment_intent_id for outcome in outcomes}
    assert intents == {charge.body["payment_intent"]}
    assert inbox.event_types() == ["checkout.session.completed"]


class ProcessDied(Exception):
    """The server process was killed at this point."""


WRITES = frozenset(
    {
        "put_object",
        "put_event",
        "create_once",
        "bind_idempotency_key",
        "commit",
        "claim_event",
        "record_attempt",
    }
)


class DyingStore:
    """The store as seen by a process that is killed at its `dies_at`-th write, just before
    (`after=False`) or just after (`after=True`) the write reaches the store."""

    def __init__(self, store: FakeStripeStore, dies_at: int, *, after: bool) -> None:
        self._store = store
        self._dies_at = dies_at
        self._after = after
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in WRITES:
            return method
        return self._dying(method)

    def _dying(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def write(*args: Any, **kwargs: Any) -> Any:
            self.writes += 1
            if self.writes == self._dies_at and not self._after:
                raise ProcessDied
            result = await method(*args, **kwargs)
            if self.writes == self._dies_at:
                raise ProcessDied
            return result

        return write


@pytest.mark.parametrize("store_url", DATABASE_STORES, indirect=True)
@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("dies_at", [1, 2, 3, 4, 5])
async def test_pay_retried_after_the_process_died_charges_once(
    store: FakeStripeStore, dies_at: int, after: bool
) -> None:
    clock = FixedClock()
    session = await open_session(process(store, clock), clock)
    dying = DyingStore(store, dies_at, after=after)
    inbox = WebhookInbox()

    with contextlib.suppress(ProcessDied):
        await process(dying, clock, inbox).pay(session.session_id)
    survivor = process(store, clock, inbox)
    retried = await survivor.pay(session.session_id)
    await survivor.wait_for_deliveries()

    [charge] = await charges_of(store, session.booking_id)
    assert retried.session.status is SessionStatus.COMPLETE
    assert retried.session.payment_status is PaymentStatus.PAID
    assert retried.session.payment_intent_id == charge.body["payment_intent"]
    assert retried.redirect_url == "https://shop.example/bookings/bk_0001/thanks"
    assert "checkout.session.completed" in inbox.event_types()


# --- Refunds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("store_url", STORES, indirect=True)
async def test_concurrent_refunds_never_lose_an_update_nor_exceed_the_charge(
    store: FakeStripeStore,
) -> None:
    clock = FixedClock()
    fake = process(store, clock)
    session = await open_session(fake, clock)
    intent = (await fake.pay(session.session_id)).session.payment_intent_id
    assert intent is not None

    answers = await asyncio.gather(
        *(
            process(store, clock).refund(refund_request(intent, 1000, idempotency_key=f"r-{n}"))
            for n in range(8)
        ),
        return_exceptions=True,
    )

    refused = [a for a in answers if isinstance(a, Exception)]
    assert len(refused) == 3
    assert all(isinstance(error, GatewayInvalidRequest) for error in refused)
    [charge] = await charges_of(store, session.booking_id)
    assert charge.body["amount"] == 5000
    assert charge.body["amount_refunded"] == 5000
    assert charge.body["refunded"] is True
    listed = await fake.list_refunds(intent)
    assert sorted(r.amount.amount for r in listed) == [1000] * 5
    stored = [r for r in await store.list_objects("refund") if r.body["payment_intent"] == intent]
    assert len(stored) == 5


@pytest.mark.parametrize("store_url", STORES, indirect=True)
async def test_a_refund_retried_with_its_key_is_made_once(store: FakeStripeStore) -> None:
    clock = FixedClock()
    fake = process(store, clock)
    session = await open_session(fake, clock)
    intent = (await fake.pay(session.session_id)).session.payment_intent_id
    assert intent is not None

    answers = await asyncio.gather(
        *(process(store, clock).refund(refund_request(intent, 1000)) for _ in range(4))
    )

    assert len({answer.refund_id for answer in answers}) == 1
    [charge] = await charges_of(store, session.booking_id)
    assert charge.body["amount_refunded"] == 1000


# --- Delivery from the store --------------------------------------------------------------------


@pytest.mark.parametrize("store_url", DATABASE_STORES, indirect=True)
async def test_events_not_yet_delivered_are_delivered_by_the_next_process(
    store: FakeStripeStore,
) -> None:
    clock = FixedClock()
    down = WebhookInbox()
    down.answer_next(*[503] * 100)
    first = process(store, clock, down)
    session = await open_session(first, clock)
    await first.pay(session.session_id)
    # The first process dies here, with its retries still to come.

    inbox = WebhookInbox()
    await process(store, clock, inbox).wait_for_deliveries()

    delivered = dict(zip(inbox.event_ids(), inbox.event_types(), strict=True))
    [completed_id] = [id for id, kind in delivered.items() if kind == "checkout.session.completed"]
    completed = await store.get_event(completed_id)
    assert completed is not None
    assert completed.delivered
    assert completed.attempts == 2
