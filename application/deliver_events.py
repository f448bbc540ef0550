"""The relay: events out of the outbox, to every endpoint that should hear them.

One pass (`bookpay deliver`, and every second in each server process):
1. fan out: each event not yet dispatched gets one delivery per enabled endpoint that
   receives it (domain/events.py decides who may hear what), in one transaction;
2. claim due deliveries fairly (`InFlightCaps`: no owner or endpoint beyond its cap in
   flight, owners in turn; a disabled endpoint's wait, pending), counting a try and
   leasing them for `lease`, so a relay that dies mid-delivery leaves them to be tried
   again once the lease ends;
3. POST each, signed (outside any transaction), each attempt bounded by `attempt_timeout`;
   a 2xx is delivered, anything else is retried on the schedule, and failed after the last
   try;
4. record the outcomes as they come, and what they mean for each endpoint (a failing
   streak of DISABLE_AFTER disables it), and claim again into the room they leave.
Attempts run side by side, up to `concurrency`: a slow endpoint holds up no other's (it
holds its own slots until its attempt times out, and its owner's cap bounds how many).
At least once, in any order: a receiver dedupes by the event id (`webhook-id`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from application.manage_webhook_endpoints import EventsOutUnitOfWorkFactory
from application.ports.events_out import DueDelivery, EventSender, NewDelivery
from application.ports.time_and_identity import Clock, IdGenerator
from domain.events import (
    DeliveryStatus,
    EndpointStatus,
    InFlightCaps,
    RetrySchedule,
    WebhookEndpoint,
    is_success,
)

log = logging.getLogger("bookpay.events_out")

DEFAULT_SCHEDULE = RetrySchedule.of_seconds((5, 300, 1800, 7200, 18000, 36000, 36000))
# An endpoint has this long to answer 2xx (API.md, "Events out").
ATTEMPT_TIMEOUT = timedelta(seconds=10)
DEFAULT_CAPS = InFlightCaps()


@dataclass
class RelayReport:
    dispatched: int = 0
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    # Outcomes that came after the lease ended and another relay took the delivery over:
    # not recorded.
    stale: int = 0

    @property
    def busy(self) -> bool:
        return self.dispatched > 0 or self.attempted > 0


@dataclass(frozen=True, slots=True)
class _Attempt:
    due: DueDelivery
    endpoint: WebhookEndpoint | None
    response_status: int | None


class DeliverEvents:
    def __init__(
        self,
        uow: EventsOutUnitOfWorkFactory,
        sender: EventSender,
        ids: IdGenerator,
        clock: Clock,
        *,
        schedule: RetrySchedule = DEFAULT_SCHEDULE,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 50,
        caps: InFlightCaps = DEFAULT_CAPS,
        attempt_timeout: timedelta = ATTEMPT_TIMEOUT,
        poll: timedelta = timedelta(seconds=1),
        linger: timedelta = timedelta(milliseconds=10),
        concurrency: int = 100,
    ) -> None:
        """`batch`: events fanned out per transaction; `concurrency`: attempts in flight at
        once in this process (above the caps of a few owners, so slow ones leave room for
        the others until their attempts time out); `poll`: how often, while attempts are in
        flight, it looks for new events and due deliveries (no attempt waits on another's
        answer); `linger`: how long, once an attempt is answered, it waits for others to
        record them together."""
        self._uow = uow
        self._sender = sender
        self._ids = ids
        self._clock = clock
        self._schedule = schedule
        self._lease = lease
        self._batch = batch
        self._caps = caps
        self._attempt_timeout = attempt_timeout.total_seconds()
        self._poll = poll.total_seconds()
        self._linger = linger.total_seconds()
        self._concurrency = concurrency

    async def __call__(self) -> RelayReport:
        """One pass: until nothing is due and no attempt is in flight."""
        report = RelayReport()
        running: set[asyncio.Task[_Attempt]] = set()
        loop = asyncio.get_running_loop()
        fanned_out_at = -self._poll
        try:
            while True:
                # New events are looked for at the start, then every `poll` (not on each
                # answer: that would be a transaction per delivery).
                if not running or loop.time() - fanned_out_at >= self._poll:
                    fanned_out_at = loop.time()
                    while await self._fan_out(report) == self._batch:
                        pass
                room = self._concurrency - len(running)
                if room > 0:
                    running |= {asyncio.create_task(a) for a in await self._claim(room)}
                if not running:
                    return report
                done, running = await asyncio.wait(
                    running, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED
                )
                if done and running:
                    # The attempts answering about now are recorded in the same transaction.
                    more, running = await asyncio.wait(running, timeout=self._linger)
                    done |= more
                if done:
                    await self._record([task.result() for task in done], report)
        finally:
            # Cancelled (the server stops): the leases bring them back to another relay.
            for task in running:
                task.cancel()

    async def _fan_out(self, report: RelayReport) -> int:
        async with self._uow() as uow:
            messages = await uow.deliveries.claim_undispatched(self._batch)
            if not messages:
                return 0
            endpoints = await uow.endpoints.enabled()
            now = self._clock.now()
            deliveries = [
                NewDelivery(self._ids.new_id("dlv"), endpoint.id, message, now)
                for message in messages
                for endpoint in endpoints
                if endpoint.receives(message.type, message.tenant_id)
            ]
            await uow.deliveries.dispatch([m.event_id for m in messages], deliveries)
            await uow.commit()
        report.dispatched += len(messages)
        return len(messages)

    async def _claim(self, room: int) -> list[Coroutine[Any, Any, _Attempt]]:
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.deliveries.claim_due(now, now + self._lease, room, self._caps)
            endpoints = {
                e.id: e
                for e in await uow.endpoints.get_any(sorted({d.delivery.endpoint_id for d in due}))
            }
            await uow.commit()
        return [self._send(d, endpoints.get(d.delivery.endpoint_id)) for d in due]

    async def _send(self, due: DueDelivery, endpoint: WebhookEndpoint | None) -> _Attempt:
        if endpoint is None or endpoint.status is not EndpointStatus.ENABLED:
            # Deleted meanwhile: failed. (A disabled endpoint's deliveries are not claimed:
            # they wait, pending, until it is enabled again.)
            return _Attempt(due, None, None)
        now = self._clock.now()
        try:
            status = await asyncio.wait_for(
                self._sender.send(
                    endpoint.url,
                    message_id=due.delivery.event_id,
                    body=due.body,
                    secrets=endpoint.signing_secrets(now),
                    timestamp=now,
                ),
                self._attempt_timeout,
            )
        except TimeoutError:
            status = None  # no answer in time
        return _Attempt(due, endpoint, status)

    async def _record(self, attempts: list[_Attempt], report: RelayReport) -> None:
        now = self._clock.now()
        outcomes: dict[str, list[bool]] = {}
        async with self._uow() as uow:
            for attempt in attempts:
                delivery = attempt.due.delivery
                delivered = is_success(attempt.response_status)
                retry_at = (
                    None if delivered else self._schedule.next_attempt(delivery.attempts, now)
                )
                if delivered:
                    status = DeliveryStatus.DELIVERED
                elif retry_at is not None and attempt.endpoint is not None:
                    status = DeliveryStatus.PENDING
                else:
                    status, retry_at = DeliveryStatus.FAILED, None
                if not await uow.deliveries.record(
                    delivery.id,
                    attempt=delivery.attempts,
                    status=status,
                    response_status=attempt.response_status,
                    next_attempt_at=retry_at,
                ):
                    # This relay outlived its lease: another try is in flight or done.
                    report.stale += 1
                    continue
                report.attempted += 1
                report.delivered += status is DeliveryStatus.DELIVERED
                report.retrying += status is DeliveryStatus.PENDING
                report.failed += status is DeliveryStatus.FAILED
                if attempt.endpoint is not None:
                    outcomes.setdefault(attempt.endpoint.id, []).append(delivered)
            for endpoint in await uow.endpoints.get_any(sorted(outcomes)):
                after = endpoint
                for delivered in outcomes[endpoint.id]:
                    after = after.after_delivery(delivered, now)
                if after is not endpoint:
                    await uow.endpoints.update(after)
                    if after.status is not endpoint.status:
                        log.warning("webhook endpoint %s disabled: it failed for days", after.id)
            await uow.commit()
