"""The outbox inside a unit of work: events are kept until the unit commits, then written
in its transaction, just before COMMIT, each with the body every endpoint will receive."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.ledger import SqlAlchemyLedgerRepository
from adapters.sql.statements import Statements
from application.ports.events_out import EventPayloads
from domain.booking import Booking
from domain.events import Event
from domain.ledger import LedgerEntry


class SubjectIdOnly:
    """The payload when no renderer was given (tests of persistence alone): the subject's id.
    The application's container always gives the tenant view (entrypoints/http)."""

    def render(self, event: Event, ledger: Sequence[LedgerEntry]) -> dict[str, Any]:
        return {"id": event.subject.id}


def event_body(event_id: str, event: Event, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The JSON an endpoint receives: `{id, type, created_at, tenant_id, data}`."""
    document = {
        "id": event_id,
        "type": event.type.value,
        "created_at": created_at.isoformat(),
        "tenant_id": event.tenant_id,
        "data": data,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


class SqlAlchemyOutbox:
    def __init__(
        self,
        connection: AsyncConnection,
        payloads: EventPayloads,
        ledger: SqlAlchemyLedgerRepository,
        statements: Statements,
    ) -> None:
        self._connection = connection
        self._sql = statements
        self._payloads = payloads
        self._ledger = ledger
        self._pending: list[Event] = []

    def add(self, *events: Event) -> None:
        self._pending.extend(events)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def discard(self) -> None:
        self._pending.clear()

    async def flush(self) -> None:
        """Write the pending events in the open transaction (the caller commits)."""
        if not self._pending:
            return
        events, self._pending = self._pending, []
        now = datetime.now(UTC)
        ledgers: dict[tuple[str, str], list[LedgerEntry]] = {}
        rows = []
        for event in events:
            ledger: list[LedgerEntry] = []
            if isinstance(event.subject, Booking):
                key = (event.tenant_id, event.subject.id)
                if key not in ledgers:
                    ledgers[key] = await self._ledger.list_for_booking(*key)
                ledger = ledgers[key]
            event_id = f"evt_{secrets.token_hex(12)}"
            data = self._payloads.render(event, ledger)
            rows.append(
                {
                    "tenant_id": event.tenant_id,
                    "id": event_id,
                    "type": event.type.value,
                    "created_at": now,
                    "body": event_body(event_id, event, now, data),
                    "dispatched": False,
                }
            )
        await self._connection.execute(self._sql.outbox_insert, rows)
