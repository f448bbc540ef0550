"""The slots' repository: every seat change is one conditional UPDATE, never read-then-write."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from adapters.sql import orm
from adapters.sql.booking_parts import Prefixed
from adapters.sql.codecs import (
    _offering_from_row,
    _slot_from_row,
    _tenant_from_row,
    fee_policy_from_json,
)
from adapters.sql.statements import Statements, insert_once
from application.ports.catalogue import SlotForSale
from application.ports.repositories import AlreadyExists
from domain.offering import Slot, require_seats
from domain.statuses import statuses_taking_seats

_s = orm.slots.c


class SqlAlchemySlotRepository:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements

    async def add(self, slot: Slot) -> None:
        values = {
            "tenant_id": slot.tenant_id,
            "id": slot.id,
            "offering_id": slot.offering_id,
            "starts_at": slot.starts_at,
            "capacity": slot.capacity,
            "held": slot.held,
            "booked": slot.booked,
            "cancelled_at": slot.cancelled_at,
            "cancellation_reason": slot.cancellation_reason,
        }
        if not await insert_once(self._connection, self._sql.insert_once["slots"], values):
            raise AlreadyExists(
                f"slot {slot.id} exists, or offering {slot.offering_id} already has a slot "
                f"starting at {slot.starts_at.isoformat()}"
            )

    async def get(self, tenant_id: str, slot_id: str) -> Slot | None:
        query = select(orm.slots).where(
            orm.slots.c.tenant_id == tenant_id, orm.slots.c.id == slot_id
        )
        row = (await self._connection.execute(query)).first()
        return None if row is None else _slot_from_row(row)

    async def get_for_sale(self, tenant_slug: str, slot_id: str) -> SlotForSale | None:
        row = (
            await self._connection.execute(
                self._sql.slot_for_sale, {"t_slug": tenant_slug, "s_id": slot_id}
            )
        ).first()
        if row is None:
            return None
        values = row._mapping
        tenant = _tenant_from_row(Prefixed(values, "t_"))
        slot = None if row.s_id is None else _slot_from_row(Prefixed(values, "s_"))
        offering = None if row.o_id is None else _offering_from_row(Prefixed(values, "o_"))
        policy = row.active_fee_policy
        return SlotForSale(
            tenant,
            slot,
            offering,
            None if policy is None else fee_policy_from_json(policy, tenant.id),
        )

    async def list_for_offering(
        self,
        tenant_id: str,
        offering_id: str,
        *,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[Slot]:
        table = orm.slots
        query = select(table).where(
            table.c.tenant_id == tenant_id, table.c.offering_id == offering_id
        )
        if starts_from is not None:
            query = query.where(table.c.starts_at >= starts_from)
        if starts_before is not None:
            query = query.where(table.c.starts_at < starts_before)
        if after is not None:
            last_start, last_id = after
            query = query.where(
                or_(
                    table.c.starts_at > last_start,
                    and_(table.c.starts_at == last_start, table.c.id > last_id),
                )
            )
        query = query.order_by(table.c.starts_at, table.c.id)
        if limit is not None:
            query = query.limit(limit)
        result = await self._connection.execute(query)
        return [_slot_from_row(row) for row in result]

    async def taken_starts(
        self, tenant_id: str, offering_id: str, starts: Collection[datetime]
    ) -> set[datetime]:
        table = orm.slots
        query = select(table.c.starts_at).where(
            table.c.tenant_id == tenant_id,
            table.c.offering_id == offering_id,
            table.c.starts_at.in_(list(starts)),
            table.c.cancelled_at.is_(None),
        )
        return set((await self._connection.execute(query)).scalars())

    async def offering_has_slots(self, tenant_id: str, offering_id: str) -> bool:
        table = orm.slots
        query = (
            select(table.c.id)
            .where(table.c.tenant_id == tenant_id, table.c.offering_id == offering_id)
            .limit(1)
        )
        return (await self._connection.execute(query)).first() is not None

    async def _change_seats(
        self, statement: Update, tenant_id: str, slot_id: str, seats: int
    ) -> bool:
        result = await self._connection.execute(
            statement,
            {"s_tenant_id": tenant_id, "s_id": slot_id, "s_seats": require_seats(seats)},
        )
        return result.first() is not None

    async def try_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(self._sql.seats.try_hold, tenant_id, slot_id, seats)

    async def release_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(self._sql.seats.release_hold, tenant_id, slot_id, seats)

    async def confirm_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(self._sql.seats.confirm_hold, tenant_id, slot_id, seats)

    async def try_book(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(self._sql.seats.try_book, tenant_id, slot_id, seats)

    async def release_booked(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(self._sql.seats.release_booked, tenant_id, slot_id, seats)

    async def resize(self, tenant_id: str, slot_id: str, capacity: int) -> bool:
        result = await self._connection.execute(
            self._sql.seats.resize,
            {"s_tenant_id": tenant_id, "s_id": slot_id, "s_capacity": capacity},
        )
        return result.first() is not None

    async def cancel(self, slot: Slot) -> bool:
        result = await self._connection.execute(
            update(orm.slots)
            .where(
                _s.tenant_id == slot.tenant_id,
                _s.id == slot.id,
                _s.cancelled_at.is_(None),
            )
            .values(cancelled_at=slot.cancelled_at, cancellation_reason=slot.cancellation_reason)
            .returning(_s.id)
        )
        return result.first() is not None

    async def cancelled_with_bookings(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        b = orm.bookings.c
        query = (
            select(_s.tenant_id, _s.id)
            .where(
                _s.cancelled_at.is_not(None),
                exists().where(
                    b.tenant_id == _s.tenant_id,
                    b.slot_id == _s.id,
                    b.status.in_([s.value for s in statuses_taking_seats()]),
                ),
            )
            .order_by(_s.tenant_id, _s.id)
            .limit(limit)
        )
        return [(row.tenant_id, row.id) for row in await self._connection.execute(query)]
