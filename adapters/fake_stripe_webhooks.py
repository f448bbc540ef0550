"""How the fake Stripe sends its events: as Stripe does, so the webhook code cannot tell.

Each event is Stripe `event` JSON, stored, then POSTed through `deliver` with a
`Stripe-Signature` made with the endpoint's secret at the moment of sending. The first
attempt happens before `send` returns; when it is not acknowledged with a 2xx, retries
follow in the background after each of `retry_delays`, until one succeeds or they run out.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from adapters import stripe_signature
from adapters.fake_stripe_objects import template
from adapters.fake_stripe_store import FakeEvent, FakeStripeStore
from application.errors import NotFound
from application.ports import WebhookEndpoint

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
        self._retries: set[asyncio.Task[None]] = set()

    async def send(self, event_type: str, obj: dict[str, Any], account_id: str | None) -> FakeEvent:
        """An event about `obj`; from a connected account, it goes to the Connect endpoint."""
        number = await self._store.next_number()
        created = self._clock()
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
        event = FakeEvent(
            id=body["id"],
            type=event_type,
            created=created.astimezone(UTC),
            endpoint=WebhookEndpoint.CONNECT if account_id else WebhookEndpoint.PLATFORM,
            payload=json.dumps(body, indent=2).encode(),
            sequence=number,
        )
        await self._store.put_event(event)
        if not await self._attempt(event.id):
            self._schedule_retries(event.id)
        return event

    async def resend(self, event_id: str) -> FakeEvent:
        """The same event (same id, fresh signature) once more, as Stripe's resend does."""
        await self._attempt(event_id)
        event = await self._store.get_event(event_id)
        assert event is not None, "an event that was just delivered is stored"
        return event

    async def wait_for_deliveries(self) -> None:
        """Wait until every pending retry has succeeded or given up."""
        while self._retries:
            await asyncio.gather(*list(self._retries))

    async def _attempt(self, event_id: str) -> bool:
        """One delivery, freshly signed, counted on the event; True when acknowledged."""
        event = await self._store.get_event(event_id)
        if event is None:
            raise NotFound("event", event_id)
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
            logger.warning("fake stripe: delivering %s failed: %s", event_id, type(error).__name__)
            status = 0
        acknowledged = 200 <= status < 300
        current = await self._store.get_event(event_id) or event
        await self._store.put_event(
            replace(
                current, attempts=current.attempts + 1, delivered=current.delivered or acknowledged
            )
        )
        return acknowledged

    def _schedule_retries(self, event_id: str) -> None:
        task = asyncio.create_task(self._retry(event_id))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry(self, event_id: str) -> None:
        for delay in self._retry_delays:
            await self._sleep(delay)
            if await self._attempt(event_id):
                return
        logger.warning("fake stripe: gave up delivering %s", event_id)
