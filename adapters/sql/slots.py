"""The slots' repository: every seat change is one conditional UPDATE, never read-then-write."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.codecs import (
    _offering_from_row,
    _slot_from_row,
    _tenant_from_row,
    fee_policy_from_json,
)
from adapters.sql.offerings import (
    TENANT,
    _override_of,
)
from adapters.sql.statements import (
    _insert_once,
)
from application.ports.repositories import AlreadyExists, SlotForSale
from domain.booking import (
    statuses_taking_seats,
)
from domain.offering import Slot, require_seats


class _Prefixed:
    """Attribute access to the columns of a joined row that carry one label prefix."""

    __slots__ = ("_prefix", "_values")

    def __init__(self, values: Mapping[str, Any], prefix: str) -> None:
        self._values = values
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return self._values[self._prefix + name]


def _slot_for_sale_statement() -> Select[Any]:
    tenants, slots, offerings, policies = orm.tenants, orm.slots, orm.offerings, orm.fee_policies
    active_policy = (
        select(policies.c.policy)
        .where(policies.c.tenant_id == tenants.c.id)
        .order_by(policies.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            *(column.label(f"t_{column.name}") for column in tenants.c),
            *(column.label(f"s_{column.name}") for column in slots.c),
            *(column.label(f"o_{column.name}") for column in offerings.c),
            _override_of(offerings).label("o_fee_policy"),
            active_policy.label("active_fee_policy"),
        )
        .select_from(
            tenants.outerjoin(
                slots, and_(slots.c.tenant_id == tenants.c.id, slots.c.id == bindparam("s_id"))
            ).outerjoin(
                offerings,
                and_(
                    offerings.c.tenant_id == slots.c.tenant_id,
                    offerings.c.id == slots.c.offering_id,
                ),
            )
        )
        .where(tenants.c.slug == bindparam("t_slug"))
    )


# The checkout's first read: tenant, slot, offering and active fee policy in one round trip.
_SLOT_FOR_SALE = _slot_for_sale_statement()


def _seat_change(condition: Any, **changes: Any) -> Any:
    """UPDATE slots SET <changes> WHERE <the slot> AND <condition> RETURNING id."""
    slots = orm.slots
    return (
        update(slots)
        .where(
            slots.c.tenant_id == bindparam("s_tenant_id"),
            slots.c.id == bindparam("s_id"),
            condition,
        )
        .values(**changes)
        .returning(slots.c.id)
    )


_s = orm.slots.c
_seats = bindparam("s_seats", type_=Integer)
# A cancelled slot takes no seats: its cancellation and a hold cannot cross.
_TRY_HOLD = _seat_change(
    and_(_s.held + _s.booked + _seats <= _s.capacity, _s.cancelled_at.is_(None)),
    held=_s.held + _seats,
)
_RELEASE_HOLD = _seat_change(_s.held >= _seats, held=_s.held - _seats)
_CONFIRM_HOLD = _seat_change(_s.held >= _seats, held=_s.held - _seats, booked=_s.booked + _seats)
_TRY_BOOK = _seat_change(
    and_(_s.held + _s.booked + _seats <= _s.capacity, _s.cancelled_at.is_(None)),
    booked=_s.booked + _seats,
)
_capacity = bindparam("s_capacity", type_=Integer)
_RESIZE = _seat_change(_s.held + _s.booked <= _capacity, capacity=_capacity)
_RELEASE_BOOKED = _seat_change(_s.booked >= _seats, booked=_s.booked - _seats)


class SqlAlchemySlotRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

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
        if not await _insert_once(self._connection, orm.slots, values):
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
            await self._connection.execute(_SLOT_FOR_SALE, {"t_slug": tenant_slug, "s_id": slot_id})
        ).first()
        if row is None:
            return None
        values = row._mapping
        tenant = _tenant_from_row(_Prefixed(values, "t_"))
        slot = None if row.s_id is None else _slot_from_row(_Prefixed(values, "s_"))
        offering = None if row.o_id is None else _offering_from_row(_Prefixed(values, "o_"))
        policy = row.active_fee_policy
        return SlotForSale(
            tenant,
            slot,
            offering,
            None if policy is None else fee_policy_from_json(policy, tenant.id, TENANT),
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

    async def _change_seats(self, statement: Any, tenant_id: str, slot_id: str, seats: int) -> bool:
        # One conditional statement: the check and the change cannot be separated by
        # another transaction, whatever the isolation level.
        result = await self._connection.execute(
            statement,
            {"s_tenant_id": tenant_id, "s_id": slot_id, "s_seats": require_seats(seats)},
        )
        return result.first() is not None

    async def try_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_TRY_HOLD, tenant_id, slot_id, seats)

    async def release_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_RELEASE_HOLD, tenant_id, slot_id, seats)

    async def confirm_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_CONFIRM_HOLD, tenant_id, slot_id, seats)

    async def try_book(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_TRY_BOOK, tenant_id, slot_id, seats)

    async def release_booked(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_RELEASE_BOOKED, tenant_id, slot_id, seats)

    async def resize(self, tenant_id: str, slot_id: str, capacity: int) -> bool:
        result = await self._connection.execute(
            _RESIZE, {"s_tenant_id": tenant_id, "s_id": slot_id, "s_capacity": capacity}
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
