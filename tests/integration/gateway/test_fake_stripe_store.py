"""The contract of the fake Stripe's store; a database-backed store joins the `store` params."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adapters.database import create_engine
from adapters.fake_stripe_store import (
    FakeEvent,
    FakeObject,
    FakeStripeStore,
    InMemoryFakeStripeStore,
    StaleFakeObject,
)
from adapters.orm import metadata
from adapters.sqlalchemy_fake_stripe_store import SqlAlchemyFakeStripeStore
from application.ports import WebhookEndpoint

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
    engine = create_engine(store_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield SqlAlchemyFakeStripeStore(engine)
    await engine.dispose()


@pytest.fixture(params=["in-memory"])
def versioned_store(request: pytest.FixtureRequest) -> FakeStripeStore:
    """The stores that keep object versions and so refuse a stale write."""
    return InMemoryFakeStripeStore()


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


async def test_writing_back_a_stale_read_fails(versioned_store: FakeStripeStore) -> None:
    store = versioned_store
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
