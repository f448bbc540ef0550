"""The in-memory ledger, disputes, webhook inbox, parked events and idempotency keys."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from application.errors import NotFound
from application.ports.gateway_events import PaymentAftermath
from application.ports.unit_of_work import ClaimOutcome, IdempotencyClaim, StoredResponse
from domain.dispute import Dispute
from domain.ledger import EntryKind, LedgerEntry, StatementLine, statement
from tests.fakes.tables import Claim, Tables


class InMemoryLedgerRepository:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, entry: LedgerEntry) -> bool:
        key = (entry.tenant_id, entry.gateway_ref, entry.kind)
        if key in self._t.ledger:
            return False
        if (entry.tenant_id, entry.booking_id) not in self._t.bookings:
            raise NotFound("booking", entry.booking_id)
        self._t.ledger[key] = entry
        return True

    async def add_all(self, entries: Iterable[LedgerEntry]) -> builtins.list[bool]:
        return [await self.add(entry) for entry in entries]

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[LedgerEntry]:
        found = [
            e
            for e in self._t.ledger.values()
            if e.tenant_id == tenant_id and e.booking_id == booking_id
        ]
        kinds = list(EntryKind)
        return sorted(found, key=lambda e: (e.created_at, kinds.index(e.kind), e.gateway_ref))

    async def statement(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        currency: str | None = None,
    ) -> list[StatementLine]:
        return statement(
            e
            for e in self._t.ledger.values()
            if e.tenant_id == tenant_id
            and (since is None or e.created_at >= since)
            and (until is None or e.created_at < until)
            and (currency is None or e.amount.currency == currency)
        )


class InMemoryDisputeRepository:
    """Reads the disputes stored with their bookings."""

    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _all(self) -> builtins.list[Dispute]:
        return [d for booking, _ in self._t.bookings.values() for d in booking.disputes]

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[Dispute]:
        found = [d for d in self._all() if d.tenant_id == tenant_id and d.booking_id == booking_id]
        return sorted(found, key=lambda d: (d.created_at, d.dispute_id))

    async def with_pending_recoveries(self, *, limit: int = 100) -> list[tuple[str, str]]:
        found = {
            (d.tenant_id, d.booking_id)
            for d in self._all()
            if d.recovery is not None and d.recovery.pending
        }
        return sorted(found)[:limit]


class InMemoryWebhookInbox:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def record(self, event_id: str) -> bool:
        if event_id in self._t.inbox:
            return False
        self._t.inbox.add(event_id)
        return True

    async def seen(self, event_id: str) -> bool:
        return event_id in self._t.inbox


class InMemoryParkedEvents:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def park(self, payment_intent_id: str, event: PaymentAftermath) -> bool:
        if event.event_id in self._t.parked:
            return False
        self._t.parked[event.event_id] = (payment_intent_id, event)
        return True

    async def take(self, payment_intent_id: str) -> list[PaymentAftermath]:
        taken = [e for pi, e in self._t.parked.values() if pi == payment_intent_id]
        for event in taken:
            del self._t.parked[event.event_id]
        return sorted(taken, key=lambda e: (e.created_at, e.event_id))

    async def for_payment(self, payment_intent_id: str) -> builtins.list[PaymentAftermath]:
        parked = [e for pi, e in self._t.parked.values() if pi == payment_intent_id]
        return sorted(parked, key=lambda e: (e.created_at, e.event_id))

    async def remove(self, event_id: str) -> bool:
        return self._t.parked.pop(event_id, None) is not None

    async def payments(self) -> builtins.list[str]:
        return sorted({pi for pi, _ in self._t.parked.values()})

    async def discard(self, created_before: datetime) -> builtins.list[str]:
        stale = [i for i, (_, e) in self._t.parked.items() if e.created_at < created_before]
        for event_id in stale:
            del self._t.parked[event_id]
        return sorted(stale)


class InMemoryIdempotencyStore:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime | None = None,
        stale_before: datetime | None = None,
    ) -> IdempotencyClaim:
        now = now or datetime.now(UTC)
        existing = self._t.claims.get((scope, key))
        if existing is None:
            self._t.claims[scope, key] = Claim(fingerprint, claimed_at=now)
            return IdempotencyClaim(ClaimOutcome.CLAIMED, claimed_at=now)
        if existing.fingerprint != fingerprint:
            return IdempotencyClaim(ClaimOutcome.MISMATCH)
        if existing.response is None:
            if stale_before is not None and existing.claimed_at < stale_before:
                self._t.claims[scope, key] = replace(existing, claimed_at=now)
                return IdempotencyClaim(ClaimOutcome.CLAIMED, claimed_at=now)
            return IdempotencyClaim(ClaimOutcome.IN_PROGRESS, claimed_at=existing.claimed_at)
        return IdempotencyClaim(ClaimOutcome.REPLAY, existing.response)

    async def store_response(
        self,
        scope: str,
        key: str,
        response: StoredResponse,
        *,
        claimed_at: datetime | None = None,
    ) -> None:
        existing = self._t.claims.get((scope, key))
        if existing is None:
            if claimed_at is not None:
                return
            raise NotFound("idempotency key", key)
        if claimed_at is not None and existing.claimed_at != claimed_at:
            return  # taken over: the late answer is not the key's
        if existing.response is None:
            self._t.claims[scope, key] = replace(existing, response=response)

    async def release(self, scope: str, key: str, *, claimed_at: datetime | None = None) -> None:
        existing = self._t.claims.get((scope, key))
        if claimed_at is not None and existing is not None and existing.claimed_at != claimed_at:
            return
        if existing is not None and existing.response is None:
            del self._t.claims[scope, key]

    async def purge(self, created_before: datetime, limit: int) -> int:
        old = [k for k, claim in self._t.claims.items() if claim.claimed_at < created_before]
        old = old[:limit]
        for k in old:
            del self._t.claims[k]
        return len(old)
