"""Events-out metrics for /metrics, read from the database at each scrape, so they are the
same whichever worker answers: tries made, deliveries delivered and failed, and how long the
oldest event that is due has waited (0 when nothing is due); and the webhook queue's depth."""

from __future__ import annotations

import logging
from collections.abc import Callable

from application.ports.events_out import EventsOutUnitOfWork
from application.ports.time_and_identity import Clock
from application.uow import UnitOfWorkFactory

log = logging.getLogger("bookpay.http")


class EventsOutMetrics:
    def __init__(self, uow: Callable[[], EventsOutUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def render(self) -> str:
        """Prometheus text lines; nothing when the database cannot be read (the other
        metrics are still answered)."""
        now = self._clock.now()
        try:
            async with self._uow() as uow:
                stats = await uow.deliveries.stats(now)
        except Exception as error:  # a scrape must not fail because the database is down
            log.warning("events-out metrics unavailable: %s", type(error).__name__)
            return ""
        age = (now - stats.oldest_due_since).total_seconds() if stats.oldest_due_since else 0.0
        metrics = [
            ("delivery_attempts_total", "counter", "Event deliveries tried.", stats.attempted),
            ("delivered_total", "counter", "Event deliveries delivered.", stats.delivered),
            ("failed_total", "counter", "Event deliveries failed after every retry.", stats.failed),
            (
                "oldest_due_age_seconds",
                "gauge",
                "How long the oldest event that is due has waited.",
                max(age, 0.0),
            ),
        ]
        lines = []
        for name, kind, text, value in metrics:
            full = f"bookpay_events_out_{name}"
            lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}", f"{full} {value}"]
        return "\n".join(lines) + "\n"


class WebhookQueueMetrics:
    """The webhook queue (BOOKPAY_WEBHOOK_MODE=queue) for /metrics: how many received
    events wait to be applied, and how long the oldest has; nothing in `apply` mode."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, *, queue_mode: bool) -> None:
        self._uow = uow
        self._clock = clock
        self._queue_mode = queue_mode

    async def render(self) -> str:
        """Prometheus text lines; nothing when the database cannot be read."""
        if not self._queue_mode:
            return ""
        now = self._clock.now()
        try:
            unit = self._uow().read_only()
            async with unit as uow:
                depth = await uow.received_events.depth()
        except Exception as error:  # a scrape must not fail because the database is down
            log.warning("webhook queue metrics unavailable: %s", type(error).__name__)
            return ""
        oldest = depth.oldest_received_at
        age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
        metrics = [
            ("events", "Received webhooks waiting to be applied.", depth.count),
            ("oldest_age_seconds", "How long the oldest waiting webhook has waited.", age),
        ]
        lines = []
        for name, text, value in metrics:
            full = f"bookpay_webhook_queue_{name}"
            lines += [f"# HELP {full} {text}", f"# TYPE {full} gauge", f"{full} {value}"]
        return "\n".join(lines) + "\n"
