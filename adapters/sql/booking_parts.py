"""What a booking's row does not hold: its refunds and disputes, stored in tables of their
own, and the version each booking was read at (optimistic locking).

One `BookingParts` lives as long as its unit of work: it remembers what it read, so an
update writes only the refunds and disputes that changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.codecs import (
    _PAID_STATUSES,
    _booking_from_row,
    _dispute_from_row,
    _dispute_values,
    _refund_from_row,
)
from adapters.sql.statements import Statements, insert_once
from domain.booking import Booking, Refund
from domain.dispute import Dispute

Key = tuple[str, str]


class Prefixed:
    """Attribute access to the columns of a joined row that carry one label prefix."""

    __slots__ = ("_prefix", "_values")

    def __init__(self, values: Mapping[str, Any], prefix: str) -> None:
        self._values = values
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return self._values[self._prefix + name]


class BookingParts:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements
        self.versions: dict[Key, int] = {}
        self._refunds: dict[Key, tuple[Refund, ...]] = {}
        self._disputes: dict[Key, tuple[Dispute, ...]] = {}

    def forget(self) -> None:
        self.versions.clear()
        self._refunds.clear()
        self._disputes.clear()

    # --- reading ---------------------------------------------------------------------------

    def seen(self, row: Row[Any], refunds: Iterable[Refund]) -> Booking:
        booking = _booking_from_row(row, refunds)
        self.versions[row.tenant_id, row.id] = row.version
        self._refunds[row.tenant_id, row.id] = booking.refunds
        return booking

    async def first(self, statement: Select[Any], **parameters: str) -> Booking | None:
        """One booking and its refunds, read by one of `BookingStatements.by_*`."""
        rows = (await self._connection.execute(statement, parameters)).all()
        if not rows:
            return None
        refunds = [
            _refund_from_row(Prefixed(row._mapping, "r_"))
            for row in rows
            if row.r_refund_id is not None
        ]
        (booking,) = await self.with_disputes([self.seen(rows[0], refunds)])
        return booking

    async def load(self, query: Select[Any]) -> list[Booking]:
        """The bookings `query` selects, with their refunds and disputes."""
        rows = (await self._connection.execute(query)).all()
        if not rows:
            return []
        refunds: dict[Key, list[Refund]] = {}
        table = orm.booking_refunds
        for tenant_id, ids in _by_tenant((row.tenant_id, row.id) for row in rows).items():
            result = await self._connection.execute(
                select(table)
                .where(table.c.tenant_id == tenant_id, table.c.booking_id.in_(ids))
                .order_by(table.c.position)
            )
            for refund in result:
                refunds.setdefault((refund.tenant_id, refund.booking_id), []).append(
                    _refund_from_row(refund)
                )
        return await self.with_disputes(
            [self.seen(row, refunds.get((row.tenant_id, row.id), ())) for row in rows]
        )

    async def with_disputes(self, bookings: list[Booking]) -> list[Booking]:
        # Only a paid booking can be disputed: the others need no read.
        paid = [(b.tenant_id, b.id) for b in bookings if b.status.value in _PAID_STATUSES]
        if not paid:
            return bookings
        table = orm.disputes
        found: dict[Key, list[Dispute]] = {}
        for tenant_id, ids in _by_tenant(paid).items():
            result = await self._connection.execute(
                select(table)
                .where(table.c.tenant_id == tenant_id, table.c.booking_id.in_(ids))
                .order_by(table.c.created_at, table.c.dispute_id)
            )
            for row in result:
                found.setdefault((row.tenant_id, row.booking_id), []).append(_dispute_from_row(row))
        loaded = []
        for booking in bookings:
            disputes = tuple(found.get((booking.tenant_id, booking.id), ()))
            self._disputes[booking.tenant_id, booking.id] = disputes
            loaded.append(replace(booking, disputes=disputes) if disputes else booking)
        return loaded

    # --- writing ---------------------------------------------------------------------------

    async def add_refunds(self, booking: Booking, start: int = 0) -> None:
        for position, refund in enumerate(booking.refunds[start:], start=start):
            await insert_once(
                self._connection,
                self._sql.insert_once["booking_refunds"],
                _refund_values(booking, position, refund),
            )
        self._refunds[booking.tenant_id, booking.id] = booking.refunds

    async def save_refunds(self, booking: Booking) -> None:
        """Store the booking's refunds as they are now: a reserved refund may have been
        settled under the gateway's id, or released; the booking's version guards it.

        Most updates leave the refunds alone or append one: only then is nothing deleted.
        """
        stored = self._refunds.get((booking.tenant_id, booking.id))
        if stored is not None and booking.refunds[: len(stored)] == stored:
            if len(booking.refunds) > len(stored):
                await self.add_refunds(booking, start=len(stored))
            return
        table = orm.booking_refunds
        await self._connection.execute(
            delete(table).where(
                table.c.tenant_id == booking.tenant_id, table.c.booking_id == booking.id
            )
        )
        await self.add_refunds(booking)

    async def save_disputes(self, booking: Booking) -> None:
        """Store the booking's disputes as they are now (few per booking: each changed one
        is written again whole; the booking's version guards them)."""
        key = (booking.tenant_id, booking.id)
        stored = {d.dispute_id: d for d in self._disputes.get(key, ())}
        table = orm.disputes
        for dispute in booking.disputes:
            if stored.get(dispute.dispute_id) == dispute:
                continue
            await self._connection.execute(
                delete(table).where(
                    table.c.tenant_id == dispute.tenant_id,
                    table.c.dispute_id == dispute.dispute_id,
                )
            )
            await self._connection.execute(insert(table).values(_dispute_values(dispute)))
        self._disputes[key] = booking.disputes


def _by_tenant(keys: Iterable[Key]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for tenant_id, booking_id in keys:
        grouped.setdefault(tenant_id, []).append(booking_id)
    return grouped


def _refund_values(booking: Booking, position: int, refund: Refund) -> dict[str, Any]:
    return {
        "tenant_id": booking.tenant_id,
        "booking_id": booking.id,
        "refund_id": refund.refund_id,
        "position": position,
        "currency": refund.split.customer_refund.currency,
        "customer_refund": refund.split.customer_refund.amount,
        "application_fee_refund": refund.split.application_fee_refund.amount,
        "pending": refund.pending,
        "reason": refund.reason,
        "cancels": None if refund.cancels is None else refund.cancels.value,
        "reference": refund.reference,
    }
