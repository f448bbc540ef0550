"""What every part of the fake Stripe shares: its store, its ids, its clock, and the one way
it changes anything — read, decide, then `commit` the objects with their events whole,
deciding again (`until_not_stale`) when a racing change got there first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from adapters.fake_stripe.store import (
    FakeObject,
    FakeStripeStore,
    FakeWrite,
    Requirement,
    StaleFakeObject,
)
from adapters.fake_stripe.webhooks import FakeWebhookSender
from application.errors import GatewayInvalidRequest, NotFound

# How often one change is decided again after losing a race to a concurrent one: each
# round one of the racers wins, so this bounds how many may race on one object.
RACE_ROUNDS = 64

Clock = Callable[[], datetime]
T = TypeVar("T")
Event = tuple[str, dict[str, Any], str | None]  # type, object, connected account


async def until_not_stale(decide: Callable[[], Awaitable[T]]) -> T:
    """Run `decide` (read, decide, commit) again whenever a racing change made its read
    stale, as a database retries a serialization failure."""
    for _ in range(RACE_ROUNDS - 1):
        try:
            return await decide()
        except StaleFakeObject:
            continue
    return await decide()


def visible(
    obj: FakeObject | None, object_id: str, kind: str, account_id: str | None
) -> FakeObject:
    """`obj` (stored under `object_id`) as seen from the platform or (Stripe-Account) a
    connected account: GatewayInvalidRequest "No such …" when that one cannot see it."""
    if obj is None or obj.kind != kind or obj.account_id != account_id:
        raise GatewayInvalidRequest(f"No such {kind}: '{object_id}'")
    return obj


class FakeStripeState:
    def __init__(self, *, store: FakeStripeStore, webhooks: FakeWebhookSender, clock: Clock):
        self.store = store
        self.webhooks = webhooks
        self.clock = clock

    def now(self) -> int:
        """Stripe's time: whole seconds since the epoch."""
        return int(self.clock().timestamp())

    async def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{await self.store.next_number():08d}"

    async def load(self, object_id: str, kind: str, account_id: str | None) -> FakeObject:
        """The object, seen from the platform or (Stripe-Account) a connected account, as
        Stripe's API answers: GatewayInvalidRequest "No such …" when it cannot see it."""
        return visible(await self.store.get_object(object_id), object_id, kind, account_id)

    async def find(self, object_id: str, kind: str) -> FakeObject:
        """An object by id alone, as the hosted pages and the dashboard (which act for any
        account) look it up; NotFound when there is none."""
        obj = await self.store.get_object(object_id)
        if obj is None or obj.kind != kind:
            raise NotFound(kind.replace("_", " "), object_id)
        return obj

    async def create_once(
        self, key: str, obj: FakeObject, requires: Requirement | None = None
    ) -> FakeObject:
        """Stripe's idempotency: the first object made with this key answers every retry;
        nothing is made unless `requires` holds (read with the write, in one transaction)."""
        return await self.store.create_once(key, obj, requires)

    async def commit(
        self,
        objects: Sequence[FakeObject],
        events: Sequence[Event] = (),
        *,
        idempotency_key: str | None = None,
    ) -> str | None:
        """Store the objects and their events in one atomic write, then deliver the events
        (first attempt). None when written; the id the idempotency key already binds when
        not. StaleFakeObject when an object changed since it was read (nothing written)."""
        made = [await self.webhooks.event(kind, obj, account) for kind, obj, account in events]
        bound = await self.store.commit(FakeWrite(tuple(objects), tuple(made), idempotency_key))
        if bound is None:
            await self.webhooks.deliver(made)
        return bound
