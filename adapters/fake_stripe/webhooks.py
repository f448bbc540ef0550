"""How the fake Stripe sends its events: as Stripe does, so the webhook code cannot tell.

Each event is Stripe `event` JSON, made by `event()` and stored by the caller in the same
commit as the change it describes. `deliver()` then makes the first attempt before the
caller answers; the event is due for others only as a first retry would be (after the first
of `retry_delays`), so `deliver_due` in another task or process does not take it from the
writer, which would then answer with it still in flight. A writer killed before its attempt
leaves the event to them; an attempt POSTs the event through `deliver` with a
`Stripe-Signature` made with the endpoint's secret at the moment of sending. An attempt
that is not acknowledged with a 2xx is due again after the next of `retry_delays`, until
one succeeds or they run out. Retries are read from the store (`deliver_due`, run
periodically by every server process), never kept in a process's memory, so an event not
yet delivered survives a restart; taking an attempt is atomic (`claim_event`), so two
processes do not send the same attempt twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.fake_stripe.objects import template
from adapters.fake_stripe.store import FakeEvent, FakeStripeStore
from adapters.stripe_wire import signature as stripe_signature
from application.errors import NotFound
from application.ports.gateway import WebhookEndpoint

API_VERSION = "2023-08-16"
DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)

logger = logging.getLogger(__name__)

Deliver = Callable[[WebhookEndpoint, bytes, dict[str, str]], Awaitable[int]]
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


class FakeWebhookSender:
    def __init__(
        self,
        *,
        store: FakeStripeStore,
        secrets: Mapping[WebhookEndpoint, str],
        deliver: Deliver,
        clock: Clock,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._store = store
        self._secrets = dict(secrets)
        self._deliver = deliver
        self._clock = clock
        self._retry_delays = tuple(retry_delays)
        self._sleep = sleep
        # How long a written event is its writer's to attempt first.
        self._first_attempt_grace = timedelta(seconds=self._retry_delays[0] if retry_delays else 0)

    async def event(
        self, event_type: str, obj: dict[str, Any], account_id: str | None
    ) -> FakeEvent:
        """An event about `obj`, due for delivery now (not yet stored); from a connected
        account, it goes to the Connect endpoint."""
        number = await self._store.next_number()
        created = self._clock().astimezone(UTC)
        body = template(
            "event",
            id=f"evt_fake{number:08d}",
            api_version=API_VERSION,
            created=int(created.timestamp()),
            data={"object": obj},
            pending_webhooks=1,
            type=event_type,
        )
        if account_id:
            body["account"] = account_id
        return FakeEvent(
            id=body["id"],
            type=event_type,
            created=created,
            endpoint=WebhookEndpoint.CONNECT if account_id else WebhookEndpoint.PLATFORM,
            payload=json.dumps(body, indent=2).encode(),
            sequence=number,
            next_attempt_at=created + self._first_attempt_grace,
        )

    async def deliver(self, events: Sequence[FakeEvent]) -> None:
        """The first attempt of freshly stored events, in order."""
        now = self._clock()
        for event in events:
            await self._attempt_due(event, now, as_of=event.next_attempt_at)

    async def deliver_due(self, as_of: datetime | None = None) -> int:
        """Attempt every event due (now, or at `as_of`); how many were acknowledged."""
        now = as_of or self._clock()
        acknowledged = 0
        for event in await self._store.due_events(now):
            acknowledged += await self._attempt_due(event, now)
        return acknowledged

    async def resend(self, event_id: str) -> FakeEvent:
        """The same event (same id, fresh signature) once more, as Stripe's resend does."""
        event = await self._store.get_event(event_id)
        if event is None:
            raise NotFound("event", event_id)
        acknowledged = await self._post(event)
        return await self._store.record_attempt(
            event_id, acknowledged=acknowledged, retry_at=event.next_attempt_at
        )

    async def wait_for_deliveries(self) -> None:
        """Deliver until no event awaits another attempt (each delivered or given up),
        sleeping until each next attempt is due (for tests, shutdown)."""
        while (due := await self._store.next_attempt()) is not None:
            wait = (due - self._clock()).total_seconds()
            if wait > 0:
                await self._sleep(wait)
            # A sleep that does not move the clock (a test's) still reaches the due time.
            await self.deliver_due(max(due, self._clock()))

    def _retry_at(self, attempts_before: int, now: datetime) -> datetime | None:
        """When to try again should attempt number `attempts_before + 1` fail."""
        if attempts_before >= len(self._retry_delays):
            return None
        return now + timedelta(seconds=self._retry_delays[attempts_before])

    async def _attempt_due(
        self, event: FakeEvent, now: datetime, *, as_of: datetime | None = None
    ) -> bool:
        """Attempt the event if it is due at `as_of` (default: now) and no one else has."""
        event_id = event.id
        retry_at = self._retry_at(event.attempts, now)
        claimed = await self._store.claim_event(event_id, max(now, as_of or now), retry_at)
        if claimed is None:  # delivered, given up, or being attempted by another process
            return False
        acknowledged = await self._post(claimed)
        await self._store.record_attempt(event_id, acknowledged=acknowledged, retry_at=retry_at)
        if not acknowledged and retry_at is None:
            logger.warning("fake stripe: gave up delivering %s", event_id)
        return acknowledged

    async def _post(self, event: FakeEvent) -> bool:
        """One delivery, freshly signed; True when acknowledged with a 2xx."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": stripe_signature.sign(
                event.payload, self._secrets[event.endpoint], self._clock()
            ),
        }
        try:
            status = await self._deliver(event.endpoint, event.payload, headers)
        except Exception as error:  # an endpoint that cannot be reached fails this attempt
            logger.warning("fake stripe: delivering %s failed: %s", event.id, type(error).__name__)
            status = 0
        return 200 <= status < 300
