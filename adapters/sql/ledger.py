"""The ledger's and the disputes' repositories: entries written once, statements summed."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.codecs import _dispute_from_row
from adapters.sql.statements import Statements, insert_once
from domain.dispute import Dispute, Party
from domain.ledger import EntryKind, EntrySum, LedgerEntry, StatementLine, statement_from_sums
from domain.money import Money


def _ledger_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "tenant_id": entry.tenant_id,
        "gateway_ref": entry.gateway_ref,
        "kind": entry.kind.value,
        "booking_id": entry.booking_id,
        "amount": entry.amount.amount,
        "currency": entry.amount.currency,
        "created_at": entry.created_at,
        "borne_by": entry.borne_by.value,
    }


class SqlAlchemyLedgerRepository:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements

    async def add(self, entry: LedgerEntry) -> bool:
        statement = self._sql.insert_once["ledger_entries"]
        return await insert_once(self._connection, statement, _ledger_values(entry))

    async def add_all(self, entries: Iterable[LedgerEntry]) -> builtins.list[bool]:
        rows = [_ledger_values(entry) for entry in entries]
        if not rows:
            return []
        statement = self._sql.ledger_insert(len(rows))
        parameters = {
            f"{name}_{n}": value for n, row in enumerate(rows) for name, value in row.items()
        }
        # One INSERT … VALUES (…), (…) … ON CONFLICT DO NOTHING: conflicting rows return nothing.
        inserted = {tuple(row) for row in await self._connection.execute(statement, parameters)}
        flags = []
        for row in rows:
            key = (row["tenant_id"], row["gateway_ref"], row["kind"])
            flags.append(key in inserted)
            inserted.discard(key)
        return flags

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[LedgerEntry]:
        parameters = {"l_tenant_id": tenant_id, "l_booking_id": booking_id}
        return [
            LedgerEntry(
                tenant_id=row.tenant_id,
                booking_id=row.booking_id,
                kind=EntryKind(row.kind),
                amount=Money(row.amount, row.currency),
                gateway_ref=row.gateway_ref,
                created_at=row.created_at,
                borne_by=Party(row.borne_by),
            )
            for row in await self._connection.execute(self._sql.ledger_for_booking, parameters)
        ]

    async def statement(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        currency: str | None = None,
    ) -> list[StatementLine]:
        c = orm.ledger_entries.c
        criteria: list[Any] = [c.tenant_id == tenant_id]
        if since is not None:
            criteria.append(c.created_at >= since)
        if until is not None:
            criteria.append(c.created_at < until)
        if currency is not None:
            criteria.append(c.currency == currency)
        query = (
            select(
                c.currency,
                c.kind,
                c.borne_by,
                func.sum(c.amount),
                func.count(c.booking_id.distinct()),
            )
            .where(*criteria)
            .group_by(c.currency, c.kind, c.borne_by)
        )
        rows = await self._connection.execute(query)
        return statement_from_sums(
            EntrySum(code, EntryKind(kind), Party(borne_by), int(total), int(bookings))
            for code, kind, borne_by, total, bookings in rows
        )


class SqlAlchemyDisputeRepository:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[Dispute]:
        c = orm.disputes.c
        query = (
            select(orm.disputes)
            .where(c.tenant_id == tenant_id, c.booking_id == booking_id)
            .order_by(c.created_at, c.dispute_id)
        )
        return [_dispute_from_row(row) for row in await self._connection.execute(query)]

    async def with_pending_recoveries(self, *, limit: int = 100) -> list[tuple[str, str]]:
        c = orm.disputes.c
        query = (
            select(c.tenant_id, c.booking_id)
            .where(c.recovery_reference.is_not(None), c.recovery_reversal_id.is_(None))
            .distinct()
            .order_by(c.tenant_id, c.booking_id)
            .limit(limit)
        )
        return [(row.tenant_id, row.booking_id) for row in await self._connection.execute(query)]
