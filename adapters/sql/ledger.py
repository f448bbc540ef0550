"""The ledger's and the disputes' repositories: entries written once, statements summed."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from adapters.sql import orm
from adapters.sql.codecs import (
    _dispute_from_row,
)
from adapters.sql.statements import (
    _insert_once,
)
from domain.dispute import Dispute, Party
from domain.ledger import EntryKind, LedgerEntry, StatementLine, statement_line, tenant_bears
from domain.money import Money

_KIND_ORDER = {kind.value: rank for rank, kind in enumerate(EntryKind)}
_LEDGER_INSERTS: dict[tuple[str, int], Insert] = {}
_LEDGER_COLUMNS = (
    "tenant_id",
    "gateway_ref",
    "kind",
    "booking_id",
    "amount",
    "currency",
    "created_at",
    "borne_by",
)


def _ledger_insert(dialect: str, rows: int) -> Insert:
    """A multi-row INSERT … ON CONFLICT DO NOTHING RETURNING the key, built once per row
    count: row n's values are the parameters <column>_<n>. (SQLAlchemy's executemany with
    RETURNING sends the same SQL, but re-renders it on every call.)"""
    statement = _LEDGER_INSERTS.get((dialect, rows))
    if statement is None:
        table = orm.ledger_entries
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(table)
            .values(
                [
                    {
                        name: bindparam(f"{name}_{n}", type_=table.c[name].type)
                        for name in _LEDGER_COLUMNS
                    }
                    for n in range(rows)
                ]
            )
            .on_conflict_do_nothing()
            .returning(table.c.tenant_id, table.c.gateway_ref, table.c.kind)
        )
        _LEDGER_INSERTS[dialect, rows] = statement
    return statement


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
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, entry: LedgerEntry) -> bool:
        return await _insert_once(self._connection, orm.ledger_entries, _ledger_values(entry))

    async def add_all(self, entries: Iterable[LedgerEntry]) -> builtins.list[bool]:
        rows = [_ledger_values(entry) for entry in entries]
        if not rows:
            return []
        statement = _ledger_insert(self._connection.dialect.name, len(rows))
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
        c = orm.ledger_entries.c
        query = (
            select(orm.ledger_entries)
            .where(c.tenant_id == tenant_id, c.booking_id == booking_id)
            .order_by(c.created_at, case(_KIND_ORDER, value=c.kind), c.gateway_ref)
        )
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
            for row in await self._connection.execute(query)
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
        sums: dict[str, dict[EntryKind, int]] = {}
        bookings: dict[str, int] = {}
        for code, kind, borne_by, total, distinct in await self._connection.execute(query):
            totals = sums.setdefault(code, dict.fromkeys(EntryKind, 0))
            if tenant_bears(EntryKind(kind), Party(borne_by)):
                totals[EntryKind(kind)] += int(total)
            if kind == EntryKind.CHARGE.value:
                bookings[code] = int(distinct)
        return [
            statement_line(code, bookings.get(code, 0), totals)
            for code, totals in sorted(sums.items())
        ]


class SqlAlchemyDisputeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

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
