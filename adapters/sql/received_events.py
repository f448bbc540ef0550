"""Received events: verified webhooks kept until a worker applies them (`queue` mode)."""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.statements import Statements, insert_once
from application.ports.gateway import WebhookEndpoint
from application.ports.unit_of_work import QueueDepth, ReceivedEvent

ERROR_LENGTH = 200


class SqlAlchemyReceivedEvents:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements
        self._r = statements.received_events

    async def receive(self, event: ReceivedEvent) -> bool:
        values: dict[str, Any] = {
            "event_id": event.event_id,
            "endpoint": event.endpoint.value,
            "payload": event.payload,
            "received_at": event.received_at,
            "attempts": 0,
            "next_attempt_at": event.received_at,
        }
        return await insert_once(self._connection, self._sql.insert_once["received_events"], values)

    async def claim(
        self, now: datetime, lease: timedelta, limit: int
    ) -> builtins.list[ReceivedEvent]:
        rows = await self._connection.execute(
            self._r.claim, {"r_now": now, "r_until": now + lease, "r_limit": limit}
        )
        ordered = sorted(rows, key=lambda r: (r.next_attempt_at, r.received_at, r.event_id))
        return [
            ReceivedEvent(
                row.event_id,
                WebhookEndpoint(row.endpoint),
                bytes(row.payload),
                row.received_at,
                row.attempts,
            )
            for row in ordered
        ]

    async def done(self, event_id: str) -> None:
        await self._connection.execute(self._r.done, {"r_event_id": event_id})

    async def retry_later(self, event_id: str, at: datetime, error: str) -> None:
        await self._connection.execute(
            self._r.retry_later,
            {"r_event_id": event_id, "r_at": at, "r_error": error[:ERROR_LENGTH]},
        )

    async def depth(self) -> QueueDepth:
        count, oldest = (await self._connection.execute(self._r.depth)).one()
        return QueueDepth(int(count), oldest)
