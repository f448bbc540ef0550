"""Every hot statement of the SQL adapter, built once per engine for its dialect.

Hot statements are built once and executed with their values as parameters: building one
per call (`insert(table).values(**values)`, `select(...).where(column == value)`) costs
more CPU than its round trip (coercions, bind parameters, cache keys; bench/findings.md),
while a prebuilt statement only looks its compiled form up. `SqlAlchemyUnitOfWorkFactory`
builds one `Statements` for its engine and hands it to every repository; nothing else
caches statements. Parameters are prefixed by what they describe (b_ booking, s_ slot,
t_ tenant, bk_ a booking's column in the checkout's insert).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Update,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.selectable import TextualSelect

from adapters.sql import orm
from adapters.sql.events_out_tables import outbox_events
from adapters.sql.received_event_statements import ReceivedEventStatements
from domain.booking import BookingStatus
from domain.ledger import EntryKind

_b, _s = orm.bookings.c, orm.slots.c
# The columns a new booking's row sets (the sweeper's claim is not part of a booking).
# What a booking's INSERT writes: not the sweeper's claim, nor what the database computes.
BOOKING_COLUMNS = tuple(
    c.name for c in orm.bookings.c if c.name != "sweep_claimed_until" and c.computed is None
)
# A booking's ledger lists its entries by time, then in the order of the kinds.
LEDGER_KIND_ORDER = {kind.value: rank for rank, kind in enumerate(EntryKind)}
# Dialects rendering named parameters without casts: the SQL of a textual statement.
_NAMED = {
    "postgresql": PGDialect(paramstyle="named"),  # type: ignore[no-untyped-call]
    "sqlite": sqlite.dialect(paramstyle="named"),
}
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


def _override_of(offerings: Any) -> Any:
    """The offering's current fee-policy override (NULL when it has none, or it ended)."""
    overrides = orm.offering_fee_policies
    return (
        select(overrides.c.policy)
        .where(
            overrides.c.tenant_id == offerings.c.tenant_id,
            overrides.c.offering_id == offerings.c.id,
        )
        .order_by(overrides.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )


def _slot_for_sale() -> Select[Any]:
    """Tenant (by slug, t_…), slot (s_…), its offering (o_…, with its override) and the
    tenant's active fee policy, in one row."""
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


def _seat_change(condition: Any, **changes: Any) -> Update:
    """UPDATE slots SET <changes> WHERE <the slot> AND <condition> RETURNING id."""
    return (
        update(orm.slots)
        .where(_s.tenant_id == bindparam("s_tenant_id"), _s.id == bindparam("s_id"), condition)
        .values(**changes)
        .returning(_s.id)
    )


class SeatStatements:
    """The conditional seat changes: the check and the change are one statement, so no
    other transaction can come between them, whatever the isolation level."""

    def __init__(self) -> None:
        seats = bindparam("s_seats", type_=Integer)
        fits = and_(_s.held + _s.booked + seats <= _s.capacity, _s.cancelled_at.is_(None))
        # A cancelled slot takes no seats: its cancellation and a hold cannot cross.
        self.try_hold = _seat_change(fits, held=_s.held + seats)
        self.release_hold = _seat_change(_s.held >= seats, held=_s.held - seats)
        self.confirm_hold = _seat_change(
            _s.held >= seats, held=_s.held - seats, booked=_s.booked + seats
        )
        self.try_book = _seat_change(fits, booked=_s.booked + seats)
        self.release_booked = _seat_change(_s.booked >= seats, booked=_s.booked - seats)
        capacity = bindparam("s_capacity", type_=Integer)
        self.resize = _seat_change(
            and_(_s.held + _s.booked <= capacity, _s.cancelled_at.is_(None)), capacity=capacity
        )


class BookingStatements:
    def __init__(self, dialect: str, seats: SeatStatements) -> None:
        self.by_key = _booking_with_refunds(
            _b.tenant_id == bindparam("b_tenant_id"), _b.id == bindparam("b_id")
        )
        self.by_id = _booking_with_refunds(_b.id == bindparam("b_id"))
        self.by_session = _booking_with_refunds(_b.gateway_session_id == bindparam("b_session_id"))
        self.by_payment = _booking_with_refunds(
            _b.payment_intent_id == bindparam("b_payment_intent_id")
        )
        # A booking's columns come as parameters (all but its key, so SET names every one
        # of them); the version goes up by one …
        self.update = (
            update(orm.bookings)
            .where(_b.tenant_id == bindparam("b_tenant_id"), _b.id == bindparam("b_id"))
            .values(version=_b.version + 1)
            .returning(_b.version)
        )
        # … only while it is still the version this unit of work read (optimistic locking).
        self.update_at_version = self.update.where(_b.version == bindparam("b_version"))
        # The condition of "a pending booking without a session" is wrapped in a CASE so
        # that no index can serve it and PostgreSQL always finds the row by its primary key:
        # as a plain AND, the generic plan of the prepared statement used the index on
        # (tenant_id, status) when the statistics were stale (bench/findings.md).
        self.attach_session = (
            update(orm.bookings)
            .where(
                _b.tenant_id == bindparam("b_tenant_id"),
                _b.id == bindparam("b_id"),
                case(
                    (
                        and_(
                            _b.status == BookingStatus.PENDING_PAYMENT.value,
                            _b.gateway_session_id.is_(None),
                        ),
                        true(),
                    ),
                    else_=false(),
                ),
            )
            .values(gateway_session_id=bindparam("b_session_id"), version=_b.version + 1)
            .returning(_b.version)
        )
        self.hold_and_add = _hold_and_add(seats) if dialect == "postgresql" else None


def _hold_and_add(seats: SeatStatements) -> Select[Any]:
    """PostgreSQL: the seat hold and the booking's INSERT in one statement.

    The conditional UPDATE runs in a CTE, and the INSERT takes its row from that CTE's
    RETURNING, so the booking is stored only if the seats were held; the result tells how
    many rows each wrote (held 0: no seats; held 1, added 0: the id is taken). The value
    of column c is the parameter bk_c.
    """
    held = seats.try_hold.cte("held")
    bookings = orm.bookings
    row = select(
        *(bindparam(f"bk_{name}", type_=bookings.c[name].type) for name in BOOKING_COLUMNS)
    ).select_from(held)
    added = (
        postgresql.insert(bookings)
        .from_select(list(BOOKING_COLUMNS), row)
        .on_conflict_do_nothing()
        .returning(bookings.c.id)
        .cte("added")
    )
    return select(
        select(func.count()).select_from(held).scalar_subquery().label("held"),
        select(func.count()).select_from(added).scalar_subquery().label("added"),
    )


class Statements:
    """The statements of one dialect ("postgresql" or "sqlite")."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # INSERT … ON CONFLICT DO NOTHING RETURNING <first key column>, per table.
        self.insert_once: dict[str, Insert] = {
            table.name: self._insert(table)
            .on_conflict_do_nothing()
            .returning(next(iter(table.primary_key.columns)))
            for table in orm.metadata.sorted_tables
        }
        self.seats = SeatStatements()
        self.bookings = BookingStatements(dialect, self.seats)
        self.slot_for_sale = _slot_for_sale()
        # An offering's row with its current override as `fee_policy`.
        self.offering_rows = select(orm.offerings, _override_of(orm.offerings).label("fee_policy"))
        t = orm.tenants.c
        self.tenant_by_id, self.tenant_by_slug, self.tenant_by_account = (
            select(orm.tenants).where(column == bindparam("t_value"))
            for column in (t.id, t.slug, t.account_id)
        )
        keys = orm.tenant_api_keys
        # Runs for every request a tenant's API key authenticates.
        self.tenant_by_api_key = (
            select(orm.tenants)
            .join(keys, keys.c.tenant_id == t.id)
            .where(
                keys.c.key_hash == bindparam("t_key_hash"),
                or_(keys.c.revoked_at.is_(None), keys.c.revoked_at > bindparam("t_now")),
            )
        )
        parked = orm.parked_events
        # Runs for every newly paid booking, and usually deletes nothing.
        self.take_parked = (
            delete(parked)
            .where(parked.c.payment_intent_id == bindparam("p_payment"))
            .returning(parked.c.payload)
        )
        # Runs for every newly paid booking (and its duplicates), and usually finds nothing.
        self.parked_for_payment = select(parked.c.payload).where(
            parked.c.payment_intent_id == bindparam("p_payment")
        )
        inbox = orm.webhook_inbox.c
        # Runs for every checked webhook, before the gateway is asked.
        self.inbox_seen = select(inbox.event_id).where(inbox.event_id == bindparam("w_event_id"))
        ledger = orm.ledger_entries.c
        # Runs for every booking event out (its body carries the booking's ledger).
        self.ledger_for_booking = (
            select(orm.ledger_entries)
            .where(ledger.tenant_id == bindparam("l_tenant_id"))
            .where(ledger.booking_id == bindparam("l_booking_id"))
            .order_by(
                ledger.created_at, case(LEDGER_KIND_ORDER, value=ledger.kind), ledger.gateway_ref
            )
        )
        # The `queue` webhook mode's claims, releases and depth.
        self.received_events = ReceivedEventStatements()
        # Every event out, written just before its unit of work commits.
        self.outbox_insert = insert(outbox_events)
        self._ledger_inserts: dict[int, TextualSelect] = {}

    def ledger_insert(self, rows: int) -> TextualSelect:
        """A multi-row INSERT … ON CONFLICT DO NOTHING RETURNING the key, for `rows` rows:
        row n's values are the parameters <column>_<n>. Made once per row count (a
        booking's money moves in a handful of entries at a time); SQLAlchemy's executemany
        with RETURNING sends the same SQL but renders it again on every call, and a
        multi-VALUES INSERT has no cache key, so it would be compiled on every call too:
        its SQL is rendered here once, and kept as a textual statement (which has one)."""
        statement = self._ledger_inserts.get(rows)
        if statement is None:
            table, width = orm.ledger_entries, len(_LEDGER_COLUMNS)
            binds = [
                bindparam(f"{name}_{n}", type_=table.c[name].type)
                for n in range(rows)
                for name in _LEDGER_COLUMNS
            ]
            built = (
                self._insert(table)
                .values(
                    [
                        dict(zip(_LEDGER_COLUMNS, binds[n * width : (n + 1) * width], strict=True))
                        for n in range(rows)
                    ]
                )
                .on_conflict_do_nothing()
                .returning(table.c.tenant_id, table.c.gateway_ref, table.c.kind)
            )
            sql = str(built.compile(dialect=_NAMED[self.dialect]))
            statement = (
                text(sql)
                .bindparams(*binds)
                .columns(table.c.tenant_id, table.c.gateway_ref, table.c.kind)
            )
            self._ledger_inserts[rows] = statement
        return statement


async def insert_once(
    connection: AsyncConnection, statement: Insert, values: Mapping[str, Any]
) -> bool:
    """Run one of `Statements.insert_once`: True when it inserted the row, False when a row
    with the same key exists."""
    result = await connection.execute(statement, values)
    return result.first() is not None


def utc_now() -> datetime:
    return datetime.now(UTC)


@cache
def statements_for(dialect: str) -> Statements:
    """The statements of `dialect`, built once per process: building them costs CPU that
    every unit of work made without a factory (the events-out relay's, each delivery round)
    paid again before (issue 19, a cProfile of the webhook load; the cost is in
    bench/findings.md)."""
    return Statements(dialect)
