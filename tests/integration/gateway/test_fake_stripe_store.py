"""The contract of the fake Stripe's store; a database-backed store joins the `store` params."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.fake_stripe.sql_store import SqlAlchemyFakeStripeStore
from adapters.fake_stripe.store import (
    FakeEvent,
    FakeObject,
    FakeStripeStore,
    FakeWrite,
    Requirement,
    StaleFakeObject,
)
from adapters.sql.database import create_engine
from application.ports.gateway import WebhookEndpoint
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore

CREATED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(
    params=[
        "in-memory",
        "sqlalchemy-sqlite",
        pytest.param("sqlalchemy-postgres", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "in-memory":
        return None
    if request.param == "sqlalchemy-postgres":
        # A database of this test's own: the ids and keys below are the same in every test.
        return str(request.getfixturevalue("fresh_postgres_url"))
    return "sqlite+aiosqlite://"


@pytest.fixture
async def store(store_url: str | None) -> AsyncIterator[FakeStripeStore]:
    if store_url is None:
        yield InMemoryFakeStripeStore()
        return
    # An empty database: the store makes its own tables.
    engine = create_engine(store_url)
    yield SqlAlchemyFakeStripeStore(engine)
    await engine.dispose()


def _event(number: int) -> FakeEvent:
    return FakeEvent(
        id=f"evt_{number}",
        type="checkout.session.completed",
        created=CREATED,
        endpoint=WebhookEndpoint.PLATFORM,
        payload=b'{"id": "evt"}',
        sequence=number,
    )


async def test_numbers_are_never_handed_out_twice(store: FakeStripeStore) -> None:
    numbers = [await store.next_number() for _ in range(5)]

    assert len(set(numbers)) == 5


async def test_objects_are_stored_by_id_and_replaced_whole(store: FakeStripeStore) -> None:
    await store.put_object(FakeObject("cs_1", {"object": "checkout.session", "n": 1}, "acct_1"))
    stored = await store.get_object("cs_1")
    assert stored is not None
    stored.body["n"] = 99  # a copy: changing it does not change the store

    await store.put_object(FakeObject("cs_2", {"object": "checkout.session", "n": 2}))

    again = await store.get_object("cs_1")
    assert again is not None
    assert (again.id, again.body, again.account_id) == (
        "cs_1",
        {"object": "checkout.session", "n": 1},
        "acct_1",
    )
    await store.put_object(FakeObject("cs_1", {"object": "checkout.session", "n": 3}))
    replaced = await store.get_object("cs_1")
    assert replaced is not None
    assert replaced.body["n"] == 3
    assert replaced.account_id is None
    assert replaced.kind == "checkout.session"
    assert await store.get_object("cs_404") is None


async def test_an_object_is_read_with_the_object_its_field_names(store: FakeStripeStore) -> None:
    intent = {"object": "payment_intent", "status": "processing"}
    await store.put_object(FakeObject("pi_1", intent, "acct_1"))
    paid = {"object": "checkout.session", "payment_intent": "pi_1"}
    await store.put_object(FakeObject("cs_1", paid, "acct_1"))
    await store.put_object(
        FakeObject("cs_2", {"object": "checkout.session", "payment_intent": None})
    )
    await store.put_object(
        FakeObject("cs_3", {"object": "checkout.session", "payment_intent": "pi_9"})
    )

    session, named = await store.get_expanded("cs_1", "payment_intent")

    assert session == await store.get_object("cs_1")
    assert named == await store.get_object("pi_1")
    assert named is not None
    assert (named.body, named.account_id) == (intent, "acct_1")
    assert (await store.get_expanded("cs_2", "payment_intent"))[1] is None  # names none
    assert (await store.get_expanded("cs_3", "payment_intent"))[1] is None  # not stored
    assert await store.get_expanded("cs_404", "payment_intent") == (None, None)


async def test_no_caller_holds_any_part_of_a_stored_object(store: FakeStripeStore) -> None:
    first: dict[str, Any] = {
        "object": "charge",
        "refunds": {"data": [{"amount": 100}]},
        "metadata": {},
    }
    written = copy.deepcopy(first)
    await store.put_object(FakeObject("ch_1", written))
    written["refunds"]["data"].append({"amount": 200})  # after the write: not stored
    read = await store.get_object("ch_1")
    assert read is not None
    read.body["refunds"]["data"][0]["amount"] = 1  # a read's parts are the reader's own
    read.body["metadata"]["booking"] = "b_1"
    (listed,) = await store.list_objects("charge")
    listed.body["refunds"]["data"].clear()

    again = await store.get_object("ch_1")

    assert again is not None
    assert again.body == first


async def test_writing_back_a_stale_read_fails(store: FakeStripeStore) -> None:
    await store.put_object(FakeObject("cs_1", {"object": "checkout.session", "n": 1}))
    first = await store.get_object("cs_1")
    second = await store.get_object("cs_1")
    assert first is not None
    assert second is not None

    first.body["n"] = 2
    await store.put_object(first)
    second.body["n"] = 3

    with pytest.raises(StaleFakeObject):
        await store.put_object(second)
    stored = await store.get_object("cs_1")
    assert stored is not None
    assert stored.body["n"] == 2
    assert stored.version == 2


async def test_an_idempotency_key_binds_to_its_first_object(store: FakeStripeStore) -> None:
    assert await store.bind_idempotency_key("key-1", "cs_1") == "cs_1"
    assert await store.bind_idempotency_key("key-1", "cs_2") == "cs_1"
    assert await store.bind_idempotency_key("key-2", "cs_2") == "cs_2"


async def test_an_object_created_once_answers_every_retry_with_its_key(
    store: FakeStripeStore,
) -> None:
    first = FakeObject("cs_1", {"object": "checkout.session", "n": 1}, "acct_1")
    retry = FakeObject("cs_2", {"object": "checkout.session", "n": 2}, "acct_1")
    other = FakeObject("cs_3", {"object": "checkout.session", "n": 3})

    assert (await store.create_once("key-1", first)).id == "cs_1"
    again = await store.create_once("key-1", retry)
    assert (again.id, again.body, again.account_id) == ("cs_1", first.body, "acct_1")
    assert (await store.create_once("key-2", other)).body == other.body
    stored = await store.get_object("cs_1")
    assert stored is not None
    assert stored.body == first.body
    assert await store.bind_idempotency_key("key-1", "cs_9") == "cs_1"


class Refused(Exception):
    pass


def _enabled(account: FakeObject | None) -> None:
    if account is None or not account.body["charges_enabled"]:
        raise Refused(repr(account))


async def test_an_object_is_created_once_only_while_its_requirement_holds(
    store: FakeStripeStore,
) -> None:
    account = FakeObject("acct_1", {"object": "account", "charges_enabled": False})
    await store.put_object(account)
    first = FakeObject("cs_1", {"object": "checkout.session", "n": 1}, "acct_1")
    retry = FakeObject("cs_2", {"object": "checkout.session", "n": 2}, "acct_1")
    needs_account = Requirement("acct_1", _enabled)

    with pytest.raises(Refused):
        await store.create_once("key-1", first, needs_account)
    assert await store.get_object("cs_1") is None  # nothing written, the key still free
    with pytest.raises(Refused):
        await store.create_once("key-1", first, Requirement("acct_none", _enabled))

    stored = await store.get_object("acct_1")
    assert stored is not None
    stored.body["charges_enabled"] = True
    await store.put_object(stored)
    assert (await store.create_once("key-1", first, needs_account)).id == "cs_1"
    again = await store.create_once("key-1", retry, needs_account)
    assert (again.id, again.body) == ("cs_1", first.body)
    assert await store.bind_idempotency_key("key-1", "cs_9") == "cs_1"


async def test_events_are_stored_and_replaced_by_id(store: FakeStripeStore) -> None:
    await store.put_event(_event(1))
    delivered = replace(_event(1), attempts=2, delivered=True)

    await store.put_event(delivered)

    assert await store.get_event("evt_1") == delivered
    assert await store.get_event("evt_404") is None


async def test_events_are_listed_newest_first(store: FakeStripeStore) -> None:
    for number in (2, 7, 4):
        await store.put_event(_event(number))

    assert [event.id for event in await store.list_events()] == ["evt_7", "evt_4", "evt_2"]
    assert [event.id for event in await store.list_events(limit=1)] == ["evt_7"]


async def test_a_commit_writes_objects_events_and_key_whole(store: FakeStripeStore) -> None:
    await store.put_object(FakeObject("ch_1", {"object": "charge", "amount_refunded": 0}))
    charge = await store.get_object("ch_1")
    assert charge is not None
    charge.body["amount_refunded"] = 100
    refund = FakeObject("re_1", {"object": "refund", "amount": 100})

    written = await store.commit(FakeWrite((refund, charge), (_event(1),), "key-1"))

    assert written is None
    assert (await store.get_object("re_1")) is not None
    stored = await store.get_object("ch_1")
    assert stored is not None
    assert (stored.body["amount_refunded"], stored.version) == (100, 2)
    assert await store.get_event("evt_1") == _event(1)
    assert await store.bind_idempotency_key("key-1", "re_9") == "re_1"


async def test_a_commit_on_a_stale_read_writes_nothing(store: FakeStripeStore) -> None:
    await store.put_object(FakeObject("ch_1", {"object": "charge", "amount_refunded": 0}))
    first = await store.get_object("ch_1")
    second = await store.get_object("ch_1")
    assert first is not None
    assert second is not None
    first.body["amount_refunded"] = 100
    await store.commit(FakeWrite((first,)))
    second.body["amount_refunded"] = 200
    refund = FakeObject("re_2", {"object": "refund", "amount": 200})

    with pytest.raises(StaleFakeObject):
        await store.commit(FakeWrite((refund, second), (_event(2),), "key-2"))

    stored = await store.get_object("ch_1")
    assert stored is not None
    assert stored.body["amount_refunded"] == 100
    assert await store.get_object("re_2") is None
    assert await store.get_event("evt_2") is None
    assert await store.bind_idempotency_key("key-2", "re_3") == "re_3"


async def test_a_commit_whose_key_is_bound_writes_nothing(store: FakeStripeStore) -> None:
    first = FakeObject("re_1", {"object": "refund", "amount": 100})
    again = FakeObject("re_2", {"object": "refund", "amount": 100})
    await store.commit(FakeWrite((first,), idempotency_key="key-1"))

    bound = await store.commit(FakeWrite((again,), (_event(2),), "key-1"))

    assert bound == "re_1"
    assert await store.get_object("re_2") is None
    assert await store.get_event("evt_2") is None


async def test_an_event_attempt_is_taken_once_and_recorded(store: FakeStripeStore) -> None:
    due = replace(_event(1), next_attempt_at=CREATED)
    later = replace(_event(2), next_attempt_at=CREATED + timedelta(minutes=5))
    await store.commit(FakeWrite(events=(due, later)))
    retry_at = CREATED + timedelta(seconds=5)

    assert [e.id for e in await store.due_events(CREATED)] == ["evt_1"]
    assert await store.next_attempt() == CREATED
    claimed = await store.claim_event("evt_1", CREATED, retry_at)
    assert claimed is not None
    assert await store.claim_event("evt_1", CREATED, retry_at) is None
    failed = await store.record_attempt("evt_1", acknowledged=False, retry_at=retry_at)
    assert (failed.attempts, failed.delivered, failed.next_attempt_at) == (1, False, retry_at)
    assert [e.id for e in await store.due_events(retry_at)] == ["evt_1"]
    assert await store.claim_event("evt_1", retry_at, None) is not None
    done = await store.record_attempt("evt_1", acknowledged=True, retry_at=None)
    assert (done.attempts, done.delivered, done.next_attempt_at) == (2, True, None)
    assert await store.next_attempt() == later.next_attempt_at
    given_up = await store.record_attempt("evt_2", acknowledged=False, retry_at=None)
    assert (given_up.delivered, given_up.next_attempt_at) == (False, None)
    assert await store.next_attempt() is None
