"""The in-memory received events (the `queue` webhook mode's store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from application.ports.unit_of_work import QueueDepth, ReceivedEvent
from tests.fakes.tables import QueuedRow, Tables


class InMemoryReceivedEvents:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def receive(self, event: ReceivedEvent) -> bool:
        if event.event_id in self._t.received:
            return False
        self._t.received[event.event_id] = QueuedRow(
            replace(event, attempts=0), next_attempt_at=event.received_at
        )
        return True

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[ReceivedEvent]:
        due = sorted(
            (
                row
                for row in self._t.received.values()
                if row.next_attempt_at <= now
                and (row.claimed_until is None or row.claimed_until <= now)
            ),
            key=lambda row: (row.next_attempt_at, row.event.received_at, row.event.event_id),
        )[:limit]
        claimed = []
        for row in due:
            event = replace(row.event, attempts=row.event.attempts + 1)
            self._t.received[event.event_id] = replace(row, event=event, claimed_until=now + lease)
            claimed.append(event)
        return claimed

    async def done(self, event_id: str) -> None:
        self._t.received.pop(event_id, None)

    async def retry_later(self, event_id: str, at: datetime, error: str) -> None:
        row = self._t.received.get(event_id)
        if row is not None:
            self._t.received[event_id] = replace(
                row, next_attempt_at=at, claimed_until=None, last_error=error[:200]
            )

    async def depth(self) -> QueueDepth:
        arrivals = [row.event.received_at for row in self._t.received.values()]
        return QueueDepth(len(arrivals), min(arrivals, default=None))
