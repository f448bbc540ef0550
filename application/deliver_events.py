"""The relay: events out of the outbox, to every endpoint that should hear them.

One pass (`bookpay deliver`, and every second in each server process):
1. fan out: each event not yet dispatched gets one delivery per enabled endpoint that
   receives it (domain/events.py decides who may hear what), in one transaction;
2. claim the deliveries that are due, counting a try and leasing them for `lease`, so a
   relay that dies mid-delivery leaves them to be tried again once the lease ends;
3. POST each, signed (outside any transaction); a 2xx within the timeout is delivered,
   anything else is retried on the schedule, and failed after the last try;
4. record the outcomes, and what they mean for each endpoint (a failing streak of
   DISABLE_AFTER disables it).
At least once, in any order: a receiver dedupes by the event id (`webhook-id`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from application.manage_webhook_endpoints import EventsOutUnitOfWorkFactory
from application.ports.events_out import DueDelivery, EventSender, NewDelivery
from application.ports.time_and_identity import Clock, IdGenerator
from domain.events import (
    DeliveryStatus,
    EndpointStatus,
    RetrySchedule,
    WebhookEndpoint,
    is_success,
)

log = logging.getLogger("bookpay.events_out")

DEFAULT_SCHEDULE = RetrySchedule.of_seconds((5, 300, 1800, 7200, 18000, 36000, 36000))


@dataclass
class RelayReport:
    dispatched: int = 0
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

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
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._ids = ids
        self._clock = clock
        self._schedule = schedule
        self._lease = lease
        self._batch = batch

    async def __call__(self) -> RelayReport:
        """One pass over what is due now; batches until none is left or full."""
        report = RelayReport()
        while await self._fan_out(report) == self._batch:
            pass
        while await self._deliver_due(report) == self._batch:
            pass
        return report

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

    async def _deliver_due(self, report: RelayReport) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.deliveries.claim_due(now, now + self._lease, self._batch)
            endpoints = {
                e.id: e
                for e in await uow.endpoints.get_any(sorted({d.delivery.endpoint_id for d in due}))
            }
            await uow.commit()
        if not due:
            return 0
        attempts = await asyncio.gather(
            *(self._send(d, endpoints.get(d.delivery.endpoint_id)) for d in due)
        )
        await self._record(attempts, report)
        return len(due)

    async def _send(self, due: DueDelivery, endpoint: WebhookEndpoint | None) -> _Attempt:
        if endpoint is None or endpoint.status is not EndpointStatus.ENABLED:
            # Deleted or disabled meanwhile: failed, for the admin to retry once enabled.
            return _Attempt(due, None, None)
        now = self._clock.now()
        status = await self._sender.send(
            endpoint.url,
            message_id=due.delivery.event_id,
            body=due.body,
            secrets=endpoint.signing_secrets(now),
            timestamp=now,
        )
        return _Attempt(due, endpoint, status)

    async def _record(self, attempts: list[_Attempt], report: RelayReport) -> None:
        now = self._clock.now()
        outcomes: dict[str, list[bool]] = {}
        async with self._uow() as uow:
            for attempt in attempts:
                delivery = attempt.due.delivery
                report.attempted += 1
                delivered = is_success(attempt.response_status)
                retry_at = (
                    None if delivered else self._schedule.next_attempt(delivery.attempts, now)
                )
                if delivered:
                    status = DeliveryStatus.DELIVERED
                    report.delivered += 1
                elif retry_at is not None and attempt.endpoint is not None:
                    status = DeliveryStatus.PENDING
                    report.retrying += 1
                else:
                    status, retry_at = DeliveryStatus.FAILED, None
                    report.failed += 1
                await uow.deliveries.record(
                    delivery.id,
                    status=status,
                    response_status=attempt.response_status,
                    next_attempt_at=retry_at,
                )
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
