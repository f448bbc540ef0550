"""A unit of work over one database connection and transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.bookings import SqlAlchemyBookingRepository
from adapters.sql.database import READ_ONLY
from adapters.sql.idempotency import SqlAlchemyIdempotencyStore
from adapters.sql.inbox import SqlAlchemyParkedEvents, SqlAlchemyWebhookInbox
from adapters.sql.ledger import SqlAlchemyDisputeRepository, SqlAlchemyLedgerRepository
from adapters.sql.offerings import SqlAlchemyOfferingRepository
from adapters.sql.outbox import SqlAlchemyOutbox, SubjectIdOnly
from adapters.sql.received_events import SqlAlchemyReceivedEvents
from adapters.sql.row_scope import TENANT_SETTING, rows_secured
from adapters.sql.slots import SqlAlchemySlotRepository
from adapters.sql.statements import Statements, statements_for
from adapters.sql.tenants import SqlAlchemyTenantRepository
from application.ports.events_out import EventPayloads

# What a unit of work times for its observer (`on_timing`): the wait for a connection of
# the engine's pool (a free one, a new one opened, or a ping after idle: SQLAlchemy's pool
# events mark when a connection is handed over, not when it was asked for), and the time
# from having it to giving it back (statements, their answers, the commit).
CONNECTION_WAIT = "connection_wait"
UNIT_OF_WORK = "unit_of_work"

Timing = Callable[[str, float], None]


class UnitOfWorkNotStarted(RuntimeError):
    """A repository was used outside `async with uow:`."""


class NestedUnitOfWork(RuntimeError):
    """A second SQLite unit of work opened while one is open in the same task."""


# On SQLite every transaction takes the database's write lock, so a unit of work opened
# inside another one in the same task would wait for a lock that its own caller holds.
_sqlite_unit_open: ContextVar[bool] = ContextVar("sqlite_unit_open", default=False)

# The transaction-local setting PostgreSQL's row-level security policies read (migrations
# 0012 and 0016, adapters/sql/row_scope.py): a tenant's id limits every tenant-owned table
# to that tenant's rows.
_ACT_FOR_TENANT = text(f"SELECT set_config('{TENANT_SETTING}', :tenant_id, true)")


class SqlAlchemyUnitOfWork:
    """`async with uow:` checks out a connection; leaving rolls back what was not committed.

    One instance serves one task at a time: take a fresh one per use-case call, from a
    `SqlAlchemyUnitOfWorkFactory`, which shares its engine's statements with each (one
    made without `statements` builds its own).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        statements: Statements | None = None,
        payloads: EventPayloads | None = None,
        on_timing: Timing | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._engine = engine
        self._statements = statements or statements_for(engine.dialect.name)
        self._payloads = payloads or SubjectIdOnly()
        self._on_timing = on_timing
        self._clock = clock
        self._connected_at = 0.0
        self._connection: AsyncConnection | None = None
        self._repositories: _Repositories | None = None
        self._nesting_guard: Token[bool] | None = None
        self._autocommit_next = False
        self._read_only = False
        self._autocommit = False

    def read_only(self) -> Self:
        """The next `async with` only reads: on PostgreSQL in autocommit mode (no BEGIN and
        COMMIT round trips) unless row-level security needs a transaction; on SQLite in a
        deferred transaction (a plain BEGIN, which WAL lets read beside the writer, instead
        of BEGIN IMMEDIATE's write lock)."""
        if self._connection is not None:
            raise RuntimeError("read_only() comes before `async with`")
        # Under row-level security a read, too, needs the transaction its scope lives in.
        self._autocommit_next = self._engine.dialect.name == "postgresql" and not rows_secured(
            self._engine
        )
        self._read_only = self._engine.dialect.name == "sqlite"
        return self

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already in use; take a fresh one")
        if self._engine.dialect.name == "sqlite":
            if _sqlite_unit_open.get():
                raise NestedUnitOfWork(
                    "a unit of work is already open in this task; on SQLite the second one "
                    "would wait for the first one's write lock: finish the first one first"
                )
            self._nesting_guard = _sqlite_unit_open.set(True)
        # The transaction begins with the first statement, so an unused unit of work
        # never takes SQLite's write lock.
        try:
            asked = self._clock()
            try:
                self._connection = await self._engine.connect()
            finally:
                # Counted when the wait ends in a pool timeout too: that wait is the point.
                self._connected_at = self._clock()
                if self._on_timing is not None:
                    self._on_timing(CONNECTION_WAIT, self._connected_at - asked)
            if self._autocommit_next:
                self._autocommit_next = False
                self._autocommit = True
                await self._connection.execution_options(isolation_level="AUTOCOMMIT")
            elif self._read_only:
                self._read_only = False
                await self._connection.execution_options(**{READ_ONLY: True})
        except BaseException:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
            self._release_guard()
            raise
        self._repositories = _Repositories(self._connection, self._statements, self._payloads)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        self._autocommit = False
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            self._repositories = None
            self._release_guard()
            await connection.close()
            if self._on_timing is not None:
                self._on_timing(UNIT_OF_WORK, self._clock() - self._connected_at)

    def _release_guard(self) -> None:
        if self._nesting_guard is not None:
            _sqlite_unit_open.reset(self._nesting_guard)
            self._nesting_guard = None

    def _active(self) -> _Repositories:
        if self._repositories is None:
            raise UnitOfWorkNotStarted("use the unit of work inside `async with uow:`")
        return self._repositories

    @property
    def connection(self) -> AsyncConnection:
        """The open connection, for the adapters that share this unit's transaction."""
        return self._active().connection

    @property
    def tenants(self) -> SqlAlchemyTenantRepository:
        return self._active().tenants

    @property
    def offerings(self) -> SqlAlchemyOfferingRepository:
        return self._active().offerings

    @property
    def slots(self) -> SqlAlchemySlotRepository:
        return self._active().slots

    @property
    def bookings(self) -> SqlAlchemyBookingRepository:
        return self._active().bookings

    @property
    def ledger(self) -> SqlAlchemyLedgerRepository:
        return self._active().ledger

    @property
    def disputes(self) -> SqlAlchemyDisputeRepository:
        return self._active().disputes

    @property
    def webhook_inbox(self) -> SqlAlchemyWebhookInbox:
        return self._active().webhook_inbox

    @property
    def received_events(self) -> SqlAlchemyReceivedEvents:
        return self._active().received_events

    @property
    def parked_events(self) -> SqlAlchemyParkedEvents:
        return self._active().parked_events

    @property
    def idempotency(self) -> SqlAlchemyIdempotencyStore:
        return self._active().idempotency

    @property
    def outbox(self) -> SqlAlchemyOutbox:
        return self._active().outbox

    async def act_for_tenant(self, tenant_id: str) -> None:
        """Row-level security (PostgreSQL): for the rest of this transaction, every
        tenant-owned table shows, and lets insert, update or delete, only `tenant_id`'s
        rows, whatever a query's own filter says — when the transaction runs as a role the
        policies bind (an engine made with `row_security_role`, migrations 0012 and 0016).
        The setting is transaction-local (safe behind PgBouncer's transaction pooling);
        after commit or rollback the next transaction takes the task's scope again
        (`row_scope.acting_for_tenant`, else platform-wide). To wall a whole request or
        job, use `acting_for_tenant` around it instead. Nothing on SQLite. RuntimeError in
        a `read_only()` unit that runs without a transaction (every statement then a
        transaction of its own).
        """
        repositories = self._active()
        if self._engine.dialect.name != "postgresql":
            return
        if self._autocommit:
            raise RuntimeError("act_for_tenant() needs a transaction; not in read_only()")
        await repositories.connection.execute(_ACT_FOR_TENANT, {"tenant_id": tenant_id})

    async def commit(self) -> None:
        repositories = self._active()
        if self._autocommit and repositories.outbox.has_pending:
            # Each statement commits alone there: the events would not share the change's fate.
            raise RuntimeError("events out need a transaction; not in read_only()")
        await repositories.outbox.flush()
        await repositories.connection.commit()

    async def rollback(self) -> None:
        repositories = self._active()
        await repositories.connection.rollback()
        repositories.bookings.forget_versions()
        repositories.outbox.discard()


class SqlAlchemyUnitOfWorkFactory:
    """Fresh units of work on one engine (a `UnitOfWorkFactory`), sharing the statements
    built once for the engine's dialect. `on_timing(what, seconds)`, when given, hears each
    unit's CONNECTION_WAIT and UNIT_OF_WORK (`clock`: seconds, monotonic)."""

    def __init__(
        self,
        engine: AsyncEngine,
        payloads: EventPayloads | None = None,
        on_timing: Timing | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._engine = engine
        self._statements = statements_for(engine.dialect.name)
        self._payloads = payloads
        self._on_timing = on_timing
        self._clock = clock

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(
            self._engine, self._statements, self._payloads, self._on_timing, self._clock
        )


class _Repositories:
    def __init__(
        self, connection: AsyncConnection, statements: Statements, payloads: EventPayloads
    ) -> None:
        self.connection = connection
        self.tenants = SqlAlchemyTenantRepository(connection, statements)
        self.offerings = SqlAlchemyOfferingRepository(connection, statements)
        self.slots = SqlAlchemySlotRepository(connection, statements)
        self.bookings = SqlAlchemyBookingRepository(connection, statements)
        self.ledger = SqlAlchemyLedgerRepository(connection, statements)
        self.disputes = SqlAlchemyDisputeRepository(connection, statements)
        self.webhook_inbox = SqlAlchemyWebhookInbox(connection, statements)
        self.received_events = SqlAlchemyReceivedEvents(connection, statements)
        self.parked_events = SqlAlchemyParkedEvents(connection, statements)
        self.idempotency = SqlAlchemyIdempotencyStore(connection, statements)
        self.outbox = SqlAlchemyOutbox(connection, payloads, self.ledger, statements)
