"""Engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), built on demand, never at import.

SQLite is the embedded default, so it is tuned for several processes sharing one file:
write-ahead logging, foreign keys on, a busy timeout, and every transaction opened with
BEGIN IMMEDIATE so that a transaction which reads and then writes can never be refused
half-way because another writer got in between.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy.exc
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, StaticPool
from sqlalchemy.types import TypeDecorator

from adapters.sql.pings import PING_AFTER_IDLE_SECONDS, ping_when_idle
from adapters.sql.row_scope import secure_rows
from adapters.sql.sqlite_writers import WriterTurns

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option of a connection that only reads: on SQLite it begins with a plain
# (deferred) BEGIN instead of BEGIN IMMEDIATE (SqlAlchemyUnitOfWork.read_only).
READ_ONLY = "bookpay_read_only"
DEFAULT_POSTGRES_POOL_SIZE = 20
DEFAULT_STATEMENT_TIMEOUT_MS = 5_000
# Generous: a busy server may take seconds to accept fifty connections at once, and a refused
# connection fails at once anyway; only a silent host waits this long.
CONNECT_TIMEOUT_SECONDS = 10.0
READY_TIMEOUT_SECONDS = 2.0
# PostgreSQL's codes for "not now": a statement or lock wait cut off, too many connections,
# a server starting or shutting down, and every connection exception (class 08).
_UNAVAILABLE_SQLSTATES = frozenset({"57014", "55P03", "53300", "53400", "57P01", "57P02", "57P03"})

log = logging.getLogger("bookpay.database")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant: timestamptz on PostgreSQL, normalised UTC text on SQLite.

    Naive datetimes are refused on the way in; every value read back is aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store a naive datetime: {value.isoformat()}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # One fixed-width UTC text format keeps SQLite's string comparisons chronological.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _is_sqlite_memory(url: str) -> bool:
    database = make_url(url).database
    return database in (None, "", ":memory:")


def is_database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database could not do the work now (down, saturated, a
    statement or lock wait cut off by its timeout), as opposed to a bug or bad data."""
    if isinstance(
        error,
        sqlalchemy.exc.OperationalError
        | sqlalchemy.exc.InterfaceError
        | sqlalchemy.exc.TimeoutError
        | ConnectionError
        | TimeoutError,
    ):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        code = getattr(error.orig, "sqlstate", None) or ""
        return code in _UNAVAILABLE_SQLSTATES or code.startswith("08")
    return isinstance(error, OSError) and error.errno is not None


def create_engine(
    url: str,
    *,
    pool_size: int | None = None,
    echo: bool = False,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    transaction_pooler: bool = False,
    row_security_role: str | None = None,
    pool_timeout_seconds: float | None = None,
) -> AsyncEngine:
    """An async engine for `url` (postgresql+asyncpg://… or sqlite+aiosqlite:///…).

    `transaction_pooler`: `url` is a PgBouncer (or similar) in transaction pooling mode,
    where consecutive transactions of one client connection run on different server
    connections (see `_behind_transaction_pooler`); ignored for SQLite.

    `pool_size` bounds the connections a process keeps open (one by default on a SQLite
    file, DEFAULT_POSTGRES_POOL_SIZE on PostgreSQL); tests that need many truly concurrent
    transactions raise it. On PostgreSQL every statement and every lock wait is cut off
    after `statement_timeout_ms`, and a request waits at most as long for a connection of
    the pool: a held lock or a saturated database turns into an error the API answers
    with 503, never into a stalled server. With `row_security_role` (PostgreSQL), every
    transaction runs as that role, under row-level security, in the scope of the running
    task (adapters/sql/row_scope.py); without it, as the login (migrations, tests).
    `pool_timeout_seconds` replaces the pool's wait (PostgreSQL), for an engine that is no
    request's (the fake Stripe's).
    """
    options: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        if _is_sqlite_memory(url):
            options["poolclass"] = StaticPool
        else:
            # SQLite has one writer and every transaction here takes the write lock, so a
            # second connection only waits inside SQLite's busy handler, which sleeps in
            # steps of up to 100 ms. One connection per process makes requests queue in
            # order on the pool instead, which cut the p99 under load at the same
            # throughput (the figures: docs/benchmarks.md). Tests that race connections on
            # purpose pass a larger pool_size.
            options["pool_size"] = pool_size or 1
            options["max_overflow"] = 0
        engine = create_async_engine(url, **options)
        turns = None
        if not _is_sqlite_memory(url):
            # Writers of every process on this file take turns (adapters/sql/sqlite_writers.py).
            lock_file = f"{make_url(url).database}-writer.lock"
            turns = WriterTurns(lock_file, SQLITE_BUSY_TIMEOUT_MS / 1000)
            turns.attach(engine)
        _configure_sqlite(engine, wal=not _is_sqlite_memory(url), turns=turns)
        return engine
    # PostgreSQL: a pool large enough for the requests one process serves at once, and no
    # overflow. SQLAlchemy's default (5 kept + 10 overflow) closes an overflow connection as
    # soon as it is returned, so beyond 5 concurrent units of work nearly every checkout of
    # the pool opened a new connection (TCP, SSL negotiation, startup, a PostgreSQL backend):
    # under 16 concurrent requests, one new connection per 5 one-row inserts and per 6
    # checkouts (docs/benchmarks.md). A bounded pool makes the 21st unit of work wait for
    # a connection instead, and bounds the connections per worker process.
    options["pool_size"] = pool_size or DEFAULT_POSTGRES_POOL_SIZE
    options["max_overflow"] = 0
    # Under a held lock a request first queues for a connection (the pool's other
    # connections all wait on the lock), then waits on the lock itself: the two waits share
    # the one budget, so the 503 comes within `statement_timeout_ms`, not twice that.
    wait_ms = statement_timeout_ms / 2
    options["pool_timeout"] = pool_timeout_seconds or wait_ms / 1000
    options["connect_args"] = _postgres_connect_args(statement_timeout_ms, lock_timeout_ms=wait_ms)
    if transaction_pooler:
        engine = _behind_transaction_pooler(url, options)
    else:
        engine = create_async_engine(url, **options)
        # A connection the server closed (restart, failover, idle timeout) is replaced
        # before use: pinged when it sat idle, not before every unit of work.
        ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    if row_security_role:
        secure_rows(engine, row_security_role)
    return engine


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _pooler_connect_args() -> dict[str, Any]:
    return {
        "timeout": CONNECT_TIMEOUT_SECONDS,
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _behind_transaction_pooler(url: str, options: dict[str, Any]) -> AsyncEngine:
    """An asyncpg engine whose connections hold no state beyond one transaction.

    Under transaction pooling a server connection serves this client only until COMMIT
    or ROLLBACK (PgBouncer's "transaction" pool_mode), so:
    - no statement cache, neither asyncpg's nor SQLAlchemy's (a statement prepared in one
      transaction does not exist on the next one's server connection), and prepared
      statements get unique names (asyncpg's counter names collide across clients that
      share a server connection);
    - no statement outside a transaction: the prepare and the execution of one statement
      are two protocol exchanges that may land on two server connections, so a request
      for autocommit (a unit of work's `read_only()`) still gets BEGIN and COMMIT, and
      no pre-ping (a statement outside a transaction; the pooler, not this process, keeps
      the server connections alive);
    - no startup parameters: PgBouncer 1.18 refuses `statement_timeout` and `lock_timeout`
      there, so the pooler sets them on its server connections (README, "PgBouncer").
    """
    options["pool_pre_ping"] = False
    options["connect_args"] = _pooler_connect_args()
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "set_connection_execution_options")
    def _no_autocommit(_connection: Connection, opts: dict[str, Any]) -> None:
        if opts.get("isolation_level") == "AUTOCOMMIT":
            del opts["isolation_level"]

    return engine


def _postgres_connect_args(
    statement_timeout_ms: float, *, lock_timeout_ms: float | None = None
) -> dict[str, Any]:
    lock_ms = statement_timeout_ms if lock_timeout_ms is None else lock_timeout_ms
    return {
        "timeout": CONNECT_TIMEOUT_SECONDS,
        "server_settings": {
            "statement_timeout": str(int(statement_timeout_ms)),
            "lock_timeout": str(int(lock_ms)),
        },
    }


class DatabaseProbe:
    """Answers "is the database ready?" on a connection of its own, never one of the pool
    (so it is not queued behind the API), within READY_TIMEOUT_SECONDS.

    Ready means every table of the schema can be read now: on PostgreSQL a share lock on
    all of them at once (what any read needs; refused while someone holds an exclusive
    lock on one, e.g. a migration or a stuck maintenance job), on SQLite the write lock
    every transaction of the API takes first.
    """

    def __init__(
        self, url: str, tables: Iterable[str] | None = None, *, transaction_pooler: bool = False
    ) -> None:
        """`tables`: those to check, by default every table of the schema;
        `transaction_pooler` as for `create_engine`."""
        options: dict[str, Any] = {"poolclass": NullPool}
        bound_ms = int(READY_TIMEOUT_SECONDS * 1000 * 3 / 4)
        self._sqlite = is_sqlite(url)
        if self._sqlite:
            options["connect_args"] = {"timeout": bound_ms / 1000}
        elif transaction_pooler:
            options["connect_args"] = _pooler_connect_args()
        else:
            options["connect_args"] = _postgres_connect_args(bound_ms)
        self._engine = create_async_engine(url, **options)
        if tables is None:
            from adapters.sql.orm import metadata  # the schema module imports this one

            tables = metadata.tables
        names = sorted(tables)
        self._lock = text(f"LOCK TABLE {', '.join(names)} IN ACCESS SHARE MODE")
        self._running: asyncio.Future[bool] | None = None

    async def ready(self) -> bool:
        """True when the database is ready. Calls that overlap share one probe, so a flood
        of readiness requests (the route is public) opens one connection, not one each."""
        running = self._running
        if (
            running is None
            or running.done()
            or running.get_loop() is not asyncio.get_running_loop()
        ):
            running = self._running = asyncio.ensure_future(self._probe())
        # A caller that gives up (its request cancelled) leaves the probe to the others.
        return await asyncio.shield(running)

    async def _probe(self) -> bool:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                async with self._engine.connect() as connection:
                    if self._sqlite:
                        await connection.exec_driver_sql("BEGIN IMMEDIATE")
                        await connection.exec_driver_sql("ROLLBACK")
                    else:
                        await connection.execute(self._lock)
                        await connection.rollback()
        except Exception as error:  # any failure means "not ready", whatever the driver raised
            log.warning("readiness check failed: %s", type(error).__name__)
            return False
        return True

    async def aclose(self) -> None:
        await self._engine.dispose()


def _configure_sqlite(engine: AsyncEngine, *, wal: bool, turns: WriterTurns | None) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # The driver's own implicit BEGIN is turned off; `_on_begin` emits ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # reads beside the writer (WAL)
            return
        if turns is not None:
            turns.take(connection)
        connection.exec_driver_sql("BEGIN IMMEDIATE")
