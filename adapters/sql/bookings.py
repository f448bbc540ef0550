"""The bookings' repository: bookings with their refunds, holds, sessions, optimistic locking."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.booking_parts import BookingParts
from adapters.sql.codecs import booking_row
from adapters.sql.pagination import decode_cursor, encode_cursor
from adapters.sql.slots import SqlAlchemySlotRepository
from adapters.sql.statements import Statements, insert_once
from application.errors import NotFound
from application.ports.repositories import AlreadyExists, BookingPage, ConcurrentUpdate
from domain.booking import Booking, BookingStatus, CancelledBy, PaymentStatus
from domain.offering import require_seats
from domain.statuses import statuses_holding_seats, statuses_taking_seats

_b = orm.bookings.c


def _lapsed_at(bookings: Any, as_of: datetime) -> Any:
    """Bookings whose hold has lapsed at `as_of`: still holding seats, and `as_of` is at or
    after the hold's end (the domain's `hold_lapsed`, boundary included)."""
    return and_(
        bookings.status.in_([s.value for s in statuses_holding_seats()]),
        bookings.hold_expires_at <= as_of,
    )


class SqlAlchemyBookingRepository:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements
        self._parts = BookingParts(connection, statements)

    def forget_versions(self) -> None:
        self._parts.forget()

    async def add(self, booking: Booking) -> None:
        values = booking_row(booking) | {"version": 1}
        if not await insert_once(self._connection, self._sql.insert_once["bookings"], values):
            raise AlreadyExists(f"booking {booking.id} exists")
        self._parts.versions[booking.tenant_id, booking.id] = 1
        await self._parts.add_refunds(booking)
        await self._parts.save_disputes(booking)

    async def count_pending_for_customer(self, tenant_id: str, email: str) -> int:
        count = await self._connection.scalar(
            select(func.count())
            .select_from(orm.bookings)
            .where(
                _b.tenant_id == tenant_id,
                _b.status == BookingStatus.PENDING_PAYMENT.value,
                # Folded by the database, as the stored address was (Python folds some
                # letters otherwise); lower() of a parameter alone stays an index condition
                # under row-level security, which lower() of a column cannot be.
                _b.customer_email_lower == func.lower(email),
            )
        )
        return int(count or 0)

    async def add_holding_seats(self, booking: Booking) -> bool:
        statement = self._sql.bookings.hold_and_add
        slots = SqlAlchemySlotRepository(self._connection, self._sql)
        if statement is None:  # SQLite: two statements in the unit's transaction
            if not await slots.try_hold(booking.tenant_id, booking.slot_id, booking.seats):
                return False
            try:
                await self.add(booking)
            except AlreadyExists:
                await slots.release_hold(booking.tenant_id, booking.slot_id, booking.seats)
                raise
            return True
        values = booking_row(booking) | {"version": 1}
        parameters = {f"bk_{name}": value for name, value in values.items()}
        parameters |= {
            "s_tenant_id": booking.tenant_id,
            "s_id": booking.slot_id,
            "s_seats": require_seats(booking.seats),
        }
        counts = (await self._connection.execute(statement, parameters)).one()
        if not counts.held:
            return False
        if not counts.added:
            # The statement held the seats all the same: give them back before refusing,
            # since the port promises that AlreadyExists holds nothing, even to a caller
            # that goes on and commits.
            await slots.release_hold(booking.tenant_id, booking.slot_id, booking.seats)
            raise AlreadyExists(f"booking {booking.id} exists")
        self._parts.versions[booking.tenant_id, booking.id] = 1
        await self._parts.add_refunds(booking)
        return True

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        return await self._parts.first(
            self._sql.bookings.by_key, b_tenant_id=tenant_id, b_id=booking_id
        )

    async def find_by_id(self, booking_id: str) -> Booking | None:
        return await self._parts.first(self._sql.bookings.by_id, b_id=booking_id)

    async def find_by_gateway_session(self, session_id: str) -> Booking | None:
        return await self._parts.first(self._sql.bookings.by_session, b_session_id=session_id)

    async def find_by_payment_intent(self, payment_intent_id: str) -> Booking | None:
        return await self._parts.first(
            self._sql.bookings.by_payment, b_payment_intent_id=payment_intent_id
        )

    async def on_slot(self, tenant_id: str, slot_id: str) -> builtins.list[Booking]:
        query = (
            select(orm.bookings)
            .where(
                _b.tenant_id == tenant_id,
                _b.slot_id == slot_id,
                _b.status.in_([s.value for s in statuses_taking_seats()]),
            )
            .order_by(_b.created_at, _b.id)
        )
        return await self._parts.load(query)

    async def update(self, booking: Booking) -> None:
        values = booking_row(booking)
        del values["tenant_id"], values["id"]
        values["b_tenant_id"], values["b_id"] = booking.tenant_id, booking.id
        read_at = self._parts.versions.get((booking.tenant_id, booking.id))
        if read_at is None:
            statement = self._sql.bookings.update
        else:
            statement = self._sql.bookings.update_at_version
            values["b_version"] = read_at
        result = await self._connection.execute(statement, values)
        version = result.scalar_one_or_none()
        if version is None:
            if read_at is None:
                raise NotFound("booking", booking.id)
            raise ConcurrentUpdate(f"booking {booking.id} changed since it was read")
        self._parts.versions[booking.tenant_id, booking.id] = version
        await self._parts.save_refunds(booking)
        await self._parts.save_disputes(booking)

    async def attach_session(self, tenant_id: str, booking_id: str, session_id: str) -> bool:
        # The version goes up, but the one this unit of work may have read stays recorded:
        # a copy read before this write is stale (it lacks the session), and saving it
        # must be a ConcurrentUpdate.
        result = await self._connection.execute(
            self._sql.bookings.attach_session,
            {"b_tenant_id": tenant_id, "b_id": booking_id, "b_session_id": session_id},
        )
        return result.first() is not None

    async def claim_lapsed_holds(
        self,
        tenant_id: str,
        as_of: datetime,
        *,
        now: datetime,
        claim_until: datetime,
        limit: int = 100,
    ) -> builtins.list[Booking]:
        # One UPDATE over the rows a CTE picks: on PostgreSQL the CTE locks them and skips
        # rows another sweeper is claiming right now (SKIP LOCKED), and once that sweeper
        # commits, its claim excludes them; on SQLite every write is serialised. (A CTE,
        # not `IN (subquery)`: with the subquery, PostgreSQL updated more rows than its
        # LIMIT in the repository contract test, as a plan may scan it again per row; a
        # CTE with FOR UPDATE is evaluated once.)
        lapsed = orm.bookings.alias("lapsed").c
        picked = (
            select(lapsed.tenant_id, lapsed.id)
            .where(
                lapsed.tenant_id == tenant_id,
                _lapsed_at(lapsed, as_of),
                or_(lapsed.sweep_claimed_until.is_(None), lapsed.sweep_claimed_until <= now),
            )
            .order_by(lapsed.hold_expires_at, lapsed.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        claimed = await self._connection.execute(
            update(orm.bookings)
            .where(_b.tenant_id == picked.c.tenant_id, _b.id == picked.c.id)
            .values(sweep_claimed_until=claim_until)
            .returning(_b.id)
        )
        ids = list(claimed.scalars())
        if not ids:
            return []
        query = (
            select(orm.bookings)
            .where(_b.tenant_id == tenant_id, _b.id.in_(ids))
            .order_by(_b.hold_expires_at, _b.id)
        )
        return await self._parts.load(query)

    async def with_refunds_due(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        r = orm.booking_refunds.c
        unknown = select(r.tenant_id, r.booking_id).where(r.pending.is_(True))
        refunded_or_reserved = (
            select(func.coalesce(func.sum(r.customer_refund), 0))
            .where(r.tenant_id == _b.tenant_id, r.booking_id == _b.id)
            .scalar_subquery()
        )
        owed = select(_b.tenant_id, _b.id.label("booking_id")).where(
            _b.cancelled_by == CancelledBy.SYSTEM.value,
            _b.customer_total > refunded_or_reserved,
        )
        due = union(unknown, owed).subquery()
        query = select(due.c.tenant_id, due.c.booking_id).order_by(
            due.c.tenant_id, due.c.booking_id
        )
        rows = await self._connection.execute(query.limit(limit))
        return [(row.tenant_id, row.booking_id) for row in rows]

    async def tenants_with_lapsed_holds(self, as_of: datetime) -> builtins.list[str]:
        query = select(_b.tenant_id).where(_lapsed_at(_b, as_of)).distinct().order_by(_b.tenant_id)
        return list((await self._connection.execute(query)).scalars())

    async def list(
        self,
        tenant_id: str | None,
        *,
        statuses: Collection[BookingStatus] = (),
        payment_statuses: Collection[PaymentStatus] = (),
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> BookingPage:
        criteria: builtins.list[Any] = [] if tenant_id is None else [_b.tenant_id == tenant_id]
        if statuses:
            criteria.append(_b.status.in_([BookingStatus(s).value for s in statuses]))
        if payment_statuses:
            criteria.append(
                _b.payment_status.in_([PaymentStatus(s).value for s in payment_statuses])
            )
        for column, low, high in (
            (_b.created_at, created_from, created_before),
            (_b.starts_at, starts_from, starts_before),
        ):
            if low is not None:
                criteria.append(column >= low)
            if high is not None:
                criteria.append(column < high)
        if cursor is not None:
            last_created, last_id = decode_cursor(cursor)
            criteria.append(
                or_(
                    _b.created_at < last_created,
                    and_(_b.created_at == last_created, _b.id < last_id),
                )
            )
        query = (
            select(orm.bookings)
            .where(*criteria)
            .order_by(_b.created_at.desc(), _b.id.desc())
            .limit(limit + 1)
        )
        found = await self._parts.load(query)
        page = found[:limit]
        next_cursor = (
            encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit else None
        )
        return BookingPage(items=tuple(page), next_cursor=next_cursor)
