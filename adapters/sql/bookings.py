"""The bookings' repository: bookings with their refunds, holds, sessions, optimistic locking."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.codecs import (
    _PAID_STATUSES,
    _booking_from_row,
    _dispute_from_row,
    _dispute_values,
    _refund_from_row,
    booking_row,
)
from adapters.sql.pagination import decode_cursor, encode_cursor
from adapters.sql.slots import (
    _TRY_HOLD,
    SqlAlchemySlotRepository,
    _Prefixed,
)
from adapters.sql.statements import (
    _insert_once,
)
from application.errors import NotFound
from application.ports.repositories import AlreadyExists, BookingPage, ConcurrentUpdate
from domain.booking import (
    Booking,
    BookingStatus,
    CancelledBy,
    PaymentStatus,
    Refund,
    statuses_holding_seats,
    statuses_taking_seats,
)
from domain.dispute import Dispute
from domain.offering import require_seats


def _booking_with_refunds(*criteria: Any) -> Select[Any]:
    """The first booking matching `criteria`, one row per refund (or one row without).

    The refunds come in the same round trip as their booking, in the order they were
    recorded; their columns are labelled r_….
    """
    booking = select(orm.bookings).where(*criteria).limit(1).subquery("b")
    refunds = orm.booking_refunds
    return (
        select(
            booking,
            *(
                column.label(f"r_{column.name}")
                for column in refunds.c
                if column.name not in ("tenant_id", "booking_id")
            ),
        )
        .select_from(
            booking.outerjoin(
                refunds,
                and_(
                    refunds.c.tenant_id == booking.c.tenant_id,
                    refunds.c.booking_id == booking.c.id,
                ),
            )
        )
        .order_by(refunds.c.position)
    )


_b = orm.bookings.c
_BOOKING_BY_KEY = _booking_with_refunds(
    _b.tenant_id == bindparam("b_tenant_id"), _b.id == bindparam("b_id")
)
_BOOKING_BY_ID = _booking_with_refunds(_b.id == bindparam("b_id"))
_BOOKING_BY_SESSION = _booking_with_refunds(_b.gateway_session_id == bindparam("b_session_id"))
_BOOKING_BY_PAYMENT = _booking_with_refunds(
    _b.payment_intent_id == bindparam("b_payment_intent_id")
)

# A booking's columns come as parameters of the execution (all but its key, so SET names
# every one of them); the version goes up by one.
_UPDATE_BOOKING = (
    update(orm.bookings)
    .where(_b.tenant_id == bindparam("b_tenant_id"), _b.id == bindparam("b_id"))
    .values(version=_b.version + 1)
    .returning(_b.version)
)
# … only while it is still the version this unit of work read (optimistic locking).
_UPDATE_BOOKING_AT_VERSION = _UPDATE_BOOKING.where(_b.version == bindparam("b_version"))


_HOLD_AND_ADD: dict[tuple[str, ...], Select[Any]] = {}


def _hold_and_add_statement(columns: tuple[str, ...]) -> Select[Any]:
    """PostgreSQL: the seat hold (_TRY_HOLD) and the booking's INSERT in one statement.

    The conditional UPDATE runs in a CTE, and the INSERT takes its row from that CTE's
    RETURNING, so the booking is stored only if the seats were held; the result tells
    how many rows each wrote (held 0: no seats; held 1, added 0: the id is taken). Built
    once per set of columns given (like a plain INSERT, the others get their defaults);
    the value of column c is the parameter bk_c.
    """
    statement = _HOLD_AND_ADD.get(columns)
    if statement is not None:
        return statement
    held = _TRY_HOLD.cte("held")
    bookings = orm.bookings
    row = select(
        *(bindparam(f"bk_{name}", type_=bookings.c[name].type) for name in columns)
    ).select_from(held)
    added = (
        postgresql.insert(bookings)
        .from_select(list(columns), row)
        .on_conflict_do_nothing()
        .returning(bookings.c.id)
        .cte("added")
    )
    statement = select(
        select(func.count()).select_from(held).scalar_subquery().label("held"),
        select(func.count()).select_from(added).scalar_subquery().label("added"),
    )
    _HOLD_AND_ADD[columns] = statement
    return statement


# The checkout's last write, built once: a conditional UPDATE instead of read-then-update.
# The condition is wrapped in a CASE so that no index can serve it and PostgreSQL always
# finds the row by its primary key: as `status = … AND gateway_session_id IS NULL`, the
# generic plan of the prepared statement (a pooled connection keeps it) used the index on
# (tenant_id, status) when the statistics were stale, and filtered every pending booking
# of the tenant: 4.4 ms of database CPU per checkout with 15,000 of them (bench/findings.md).
_ATTACH_SESSION = (
    update(orm.bookings)
    .where(
        orm.bookings.c.tenant_id == bindparam("b_tenant_id"),
        orm.bookings.c.id == bindparam("b_id"),
        case(
            (
                and_(
                    orm.bookings.c.status == BookingStatus.PENDING_PAYMENT.value,
                    orm.bookings.c.gateway_session_id.is_(None),
                ),
                true(),
            ),
            else_=false(),
        ),
    )
    .values(gateway_session_id=bindparam("b_session_id"), version=orm.bookings.c.version + 1)
    .returning(orm.bookings.c.version)
)


class SqlAlchemyBookingRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        # The version each booking was read at in this unit of work (optimistic locking),
        # and its refunds as stored then, so an update writes only refunds that changed.
        self._versions: dict[tuple[str, str], int] = {}
        self._stored_refunds: dict[tuple[str, str], tuple[Refund, ...]] = {}
        self._stored_disputes: dict[tuple[str, str], tuple[Dispute, ...]] = {}

    def forget_versions(self) -> None:
        self._versions.clear()
        self._stored_refunds.clear()
        self._stored_disputes.clear()

    async def _save_disputes(self, booking: Booking) -> None:
        """Store the booking's disputes as they are now (few per booking: each changed
        one is written again whole; the booking's version guards them)."""
        key = (booking.tenant_id, booking.id)
        stored = {d.dispute_id: d for d in self._stored_disputes.get(key, ())}
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
        self._stored_disputes[key] = booking.disputes

    async def _with_disputes(self, bookings: builtins.list[Booking]) -> builtins.list[Booking]:
        paid = [b for b in bookings if b.status.value in _PAID_STATUSES]
        if not paid:
            return bookings
        table = orm.disputes
        found: dict[tuple[str, str], builtins.list[Dispute]] = {}
        by_tenant: dict[str, builtins.list[str]] = {}
        for booking in paid:
            by_tenant.setdefault(booking.tenant_id, []).append(booking.id)
        for tenant_id, ids in by_tenant.items():
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
            self._stored_disputes[booking.tenant_id, booking.id] = disputes
            loaded.append(replace(booking, disputes=disputes) if disputes else booking)
        return loaded

    async def add(self, booking: Booking) -> None:
        values = booking_row(booking) | {"version": 1}
        if not await _insert_once(self._connection, orm.bookings, values):
            raise AlreadyExists(f"booking {booking.id} exists")
        self._versions[booking.tenant_id, booking.id] = 1
        await self._add_refunds(booking)
        await self._save_disputes(booking)

    async def count_pending_for_customer(self, tenant_id: str, email: str) -> int:
        table = orm.bookings
        count = await self._connection.scalar(
            select(func.count())
            .select_from(table)
            .where(
                table.c.tenant_id == tenant_id,
                table.c.status == BookingStatus.PENDING_PAYMENT.value,
                func.lower(table.c.customer_email) == email.lower(),
            )
        )
        return int(count or 0)

    async def add_holding_seats(self, booking: Booking) -> bool:
        if self._connection.dialect.name != "postgresql":
            slots = SqlAlchemySlotRepository(self._connection)
            if not await slots.try_hold(booking.tenant_id, booking.slot_id, booking.seats):
                return False
            await self.add(booking)
            return True
        values = booking_row(booking) | {"version": 1}
        statement = _hold_and_add_statement(tuple(values))
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
            # which matters when no transaction would roll the hold back (single_write).
            slots = SqlAlchemySlotRepository(self._connection)
            await slots.release_hold(booking.tenant_id, booking.slot_id, booking.seats)
            raise AlreadyExists(f"booking {booking.id} exists")
        self._versions[booking.tenant_id, booking.id] = 1
        await self._add_refunds(booking)
        return True

    async def _add_refunds(self, booking: Booking, start: int = 0) -> None:
        for position, refund in enumerate(booking.refunds[start:], start=start):
            await self._insert_refund(booking, position, refund)
        self._stored_refunds[booking.tenant_id, booking.id] = booking.refunds

    async def _replace_refunds(self, booking: Booking) -> None:
        """Store the booking's refunds as they are now: a reserved refund may have been
        settled under the gateway's id, or released; the booking's version guards it.

        Most updates leave the refunds alone or append one: only then is nothing deleted.
        """
        stored = self._stored_refunds.get((booking.tenant_id, booking.id))
        if stored is not None and booking.refunds[: len(stored)] == stored:
            if len(booking.refunds) > len(stored):
                await self._add_refunds(booking, start=len(stored))
            return
        table = orm.booking_refunds
        await self._connection.execute(
            delete(table).where(
                table.c.tenant_id == booking.tenant_id, table.c.booking_id == booking.id
            )
        )
        await self._add_refunds(booking)

    async def _insert_refund(self, booking: Booking, position: int, refund: Refund) -> None:
        await _insert_once(
            self._connection,
            orm.booking_refunds,
            {
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
            },
        )

    async def _load(self, query: Select[Any]) -> builtins.list[Booking]:
        rows = (await self._connection.execute(query)).all()
        if not rows:
            return []
        refunds: dict[tuple[str, str], builtins.list[Refund]] = {}
        table = orm.booking_refunds
        by_tenant: dict[str, builtins.list[str]] = {}
        for row in rows:
            by_tenant.setdefault(row.tenant_id, []).append(row.id)
        for tenant_id, ids in by_tenant.items():
            result = await self._connection.execute(
                select(table)
                .where(table.c.tenant_id == tenant_id, table.c.booking_id.in_(ids))
                .order_by(table.c.position)
            )
            for refund in result:
                refunds.setdefault((refund.tenant_id, refund.booking_id), []).append(
                    _refund_from_row(refund)
                )
        return await self._with_disputes(
            [self._seen(row, refunds.get((row.tenant_id, row.id), ())) for row in rows]
        )

    def _seen(self, row: Row[Any], refunds: Iterable[Refund]) -> Booking:
        booking = _booking_from_row(row, refunds)
        self._versions[row.tenant_id, row.id] = row.version
        self._stored_refunds[row.tenant_id, row.id] = booking.refunds
        return booking

    async def _first(self, statement: Select[Any], **parameters: str) -> Booking | None:
        """One booking and its refunds, read by one of the _BOOKING_BY_* statements."""
        rows = (await self._connection.execute(statement, parameters)).all()
        if not rows:
            return None
        refunds = [
            _refund_from_row(_Prefixed(row._mapping, "r_"))
            for row in rows
            if row.r_refund_id is not None
        ]
        (booking,) = await self._with_disputes([self._seen(rows[0], refunds)])
        return booking

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        return await self._first(_BOOKING_BY_KEY, b_tenant_id=tenant_id, b_id=booking_id)

    async def find_by_id(self, booking_id: str) -> Booking | None:
        return await self._first(_BOOKING_BY_ID, b_id=booking_id)

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
        return await self._load(query)

    async def find_by_gateway_session(self, session_id: str) -> Booking | None:
        return await self._first(_BOOKING_BY_SESSION, b_session_id=session_id)

    async def find_by_payment_intent(self, payment_intent_id: str) -> Booking | None:
        return await self._first(_BOOKING_BY_PAYMENT, b_payment_intent_id=payment_intent_id)

    async def update(self, booking: Booking) -> None:
        values = booking_row(booking)
        del values["tenant_id"], values["id"]
        values["b_tenant_id"], values["b_id"] = booking.tenant_id, booking.id
        read_at = self._versions.get((booking.tenant_id, booking.id))
        if read_at is None:
            statement = _UPDATE_BOOKING
        else:
            statement = _UPDATE_BOOKING_AT_VERSION
            values["b_version"] = read_at
        result = await self._connection.execute(statement, values)
        version = result.scalar_one_or_none()
        if version is None:
            if read_at is None:
                raise NotFound("booking", booking.id)
            raise ConcurrentUpdate(f"booking {booking.id} changed since it was read")
        self._versions[booking.tenant_id, booking.id] = version
        await self._replace_refunds(booking)
        await self._save_disputes(booking)

    async def attach_session(self, tenant_id: str, booking_id: str, session_id: str) -> bool:
        # The version goes up, but the one this unit of work may have read stays recorded:
        # a copy read before this write is stale (it lacks the session), and saving it
        # must be a ConcurrentUpdate.
        result = await self._connection.execute(
            _ATTACH_SESSION,
            {"b_tenant_id": tenant_id, "b_id": booking_id, "b_session_id": session_id},
        )
        return result.first() is not None

    async def claim_lapsed_holds(
        self,
        tenant_id: str,
        before: datetime,
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
        c = orm.bookings.c
        lapsed = orm.bookings.alias("lapsed").c
        picked = (
            select(lapsed.tenant_id, lapsed.id)
            .where(
                lapsed.tenant_id == tenant_id,
                lapsed.status.in_([s.value for s in statuses_holding_seats()]),
                lapsed.hold_expires_at < before,
                or_(lapsed.sweep_claimed_until.is_(None), lapsed.sweep_claimed_until <= now),
            )
            .order_by(lapsed.hold_expires_at, lapsed.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        claimed = await self._connection.execute(
            update(orm.bookings)
            .where(c.tenant_id == picked.c.tenant_id, c.id == picked.c.id)
            .values(sweep_claimed_until=claim_until)
            .returning(c.id)
        )
        ids = list(claimed.scalars())
        if not ids:
            return []
        query = (
            select(orm.bookings)
            .where(c.tenant_id == tenant_id, c.id.in_(ids))
            .order_by(c.hold_expires_at, c.id)
        )
        return await self._load(query)

    async def with_refunds_due(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        r, b = orm.booking_refunds.c, orm.bookings.c
        unknown = select(r.tenant_id, r.booking_id).where(r.pending.is_(True))
        refunded_or_reserved = (
            select(func.coalesce(func.sum(r.customer_refund), 0))
            .where(r.tenant_id == b.tenant_id, r.booking_id == b.id)
            .scalar_subquery()
        )
        owed = select(b.tenant_id, b.id.label("booking_id")).where(
            b.cancelled_by == CancelledBy.SYSTEM.value,
            b.customer_total > refunded_or_reserved,
        )
        due = union(unknown, owed).subquery()
        query = select(due.c.tenant_id, due.c.booking_id).order_by(
            due.c.tenant_id, due.c.booking_id
        )
        rows = await self._connection.execute(query.limit(limit))
        return [(row.tenant_id, row.booking_id) for row in rows]

    async def tenants_with_lapsed_holds(self, before: datetime) -> builtins.list[str]:
        c = orm.bookings.c
        query = (
            select(c.tenant_id)
            .where(
                c.status.in_([s.value for s in statuses_holding_seats()]),
                c.hold_expires_at < before,
            )
            .distinct()
            .order_by(c.tenant_id)
        )
        return list((await self._connection.execute(query)).scalars())

    async def list(
        self,
        tenant_id: str,
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
        c = orm.bookings.c
        criteria: builtins.list[Any] = [c.tenant_id == tenant_id]
        if statuses:
            criteria.append(c.status.in_([BookingStatus(s).value for s in statuses]))
        if payment_statuses:
            criteria.append(
                c.payment_status.in_([PaymentStatus(s).value for s in payment_statuses])
            )
        if created_from is not None:
            criteria.append(c.created_at >= created_from)
        if created_before is not None:
            criteria.append(c.created_at < created_before)
        if starts_from is not None:
            criteria.append(c.starts_at >= starts_from)
        if starts_before is not None:
            criteria.append(c.starts_at < starts_before)
        if cursor is not None:
            last_created, last_id = decode_cursor(cursor)
            criteria.append(
                or_(c.created_at < last_created, and_(c.created_at == last_created, c.id < last_id))
            )
        query = (
            select(orm.bookings)
            .where(*criteria)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit + 1)
        )
        found = await self._load(query)
        page = found[:limit]
        next_cursor = (
            encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit else None
        )
        return BookingPage(items=tuple(page), next_cursor=next_cursor)
