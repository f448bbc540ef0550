"""Which rows a transaction may touch under PostgreSQL's row-level security (migrations 0012
and 0016): one tenant's, or the platform's (every tenant's).

The policies read two transaction-local settings, so they hold behind PgBouncer's
transaction pooling (nothing outlives a transaction):

- `role`: the application's role (`bookpay_app` by default), which owns no table, so the
  policies bind it. Whatever login the deployment uses (its own role granted
  `bookpay_app`, or on a development machine the `postgres` superuser), every transaction of
  the application's engine runs as that role;
- `bookpay.tenant_id`: a tenant's id (that tenant's rows only), `*` (platform-wide: webhooks,
  reconciliation, the events-out relay, the sweeper, the admin), or empty (no tenant-owned
  row at all: a connection that says nothing sees nothing).

The engine sets both at the start of every transaction, in one statement sent with the BEGIN
(`ScopedConnection`: no round trip of its own), from the scope the running task declared:
`acting_for_tenant(id)` or `acting_for_platform()`. Nothing is
platform-wide by default: the HTTP entrypoint declares the platform for each request and
narrows a tenant's once its API key is checked; each background job (entrypoints/periodic.py)
and CLI command declares the scope it runs in. Work that declares nothing sees and writes no
tenant's rows (and the first such transaction of a process is logged as a warning), so a
job that forgot finds nothing to do instead of acting for every tenant. SQLite has no
row-level security: nothing happens there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from weakref import WeakSet

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

APP_ROLE = "bookpay_app"
TENANT_SETTING = "bookpay.tenant_id"
PLATFORM = "*"

log = logging.getLogger("bookpay.database")

NO_TENANT = ""

_scope: ContextVar[str | None] = ContextVar("bookpay_row_scope", default=None)
_secured: WeakSet[Engine] = WeakSet()
_warned: set[str] = set()
_AS_LOGIN = "bookpay_as_login"
_ENTER_SCOPE = text(
    f"SELECT set_config('role', :role, true), set_config('{TENANT_SETTING}', :scope, true)"
)


@contextmanager
def acting_for_tenant(tenant_id: str) -> Iterator[None]:
    """Within this block (this task and the tasks it starts), every transaction of a
    row-secured engine sees and writes `tenant_id`'s rows only. ValueError for an empty id
    or the platform's marker."""
    if not tenant_id or tenant_id == PLATFORM:
        raise ValueError(f"not a tenant id: {tenant_id!r}")
    with _declared(tenant_id):
        yield


@contextmanager
def acting_for_platform() -> Iterator[None]:
    """Within this block (this task and the tasks it starts), every transaction of a
    row-secured engine sees and writes every tenant's rows: for the work that spans tenants
    (a request before its caller is known, the admin, webhooks, public routes, jobs). A
    tenant's scope inside it narrows it again."""
    with _declared(PLATFORM):
        yield


@contextmanager
def _declared(scope: str) -> Iterator[None]:
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def current_scope() -> str | None:
    """The tenant the running task acts for, PLATFORM, or None when it declared nothing."""
    return _scope.get()


def _undeclared() -> str:
    if "undeclared" not in _warned:
        _warned.add("undeclared")
        log.warning(
            "a transaction declared no row scope (acting_for_platform or acting_for_tenant): "
            "it sees no tenant's rows"
        )
    return NO_TENANT


# Values written into the BEGIN's text as literals: nothing that quoting could get wrong
# (role names are checked by the configuration; tenant ids, PLATFORM and NO_TENANT fit).
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.:*-]*")


class ScopedConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg is untyped
    """An asyncpg connection that sends a transaction's row scope with its BEGIN.

    The asyncpg dialect sends BEGIN as a simple query of its own just before the
    transaction's first statement; setting the role and the tenant scope in a statement
    of their own cost one more round trip per transaction (worker CPU follows round
    trips, bench/findings.md). Here `BEGIN; SELECT set_config(…, true), …` is one simple
    query, one round trip: PostgreSQL runs the set_config calls inside the transaction
    the BEGIN opened, and with `is_local` true they end with it, exactly as before (so
    PgBouncer's transaction pooling stays safe).
    """

    _begin_with: str | None = None

    def scope_next_begin(self, statement: str | None) -> None:
        """`statement` goes with the next BEGIN (None: nothing does)."""
        self._begin_with = statement

    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - asyncpg's own signature
    ) -> str:
        statement = self._begin_with
        if statement is None or args or not query.startswith("BEGIN"):
            status: str = await super().execute(query, *args, timeout=timeout)
            return status
        self._begin_with = None
        try:
            status = await super().execute(f"{query} {statement}", timeout=timeout)
        except asyncpg.PostgresError:
            # BEGIN opened the transaction and the scope failed inside it (e.g. a role the
            # login may not take): end it, and forget the transaction asyncpg recorded as
            # started (it keeps one whose start failed as current, and would take the next
            # BEGIN for a nested SAVEPOINT), so the connection serves the next transaction.
            if not self.is_closed() and self.is_in_transaction():
                await super().execute("ROLLBACK")
            self._top_xact = None
            raise
        return status


def _scope_statement(role: str, scope: str) -> str | None:
    if not (_PLAIN_VALUE.fullmatch(role) and _PLAIN_VALUE.fullmatch(scope)):
        return None
    return (
        f"SELECT set_config('role', '{role}', true), "
        f"set_config('{TENANT_SETTING}', '{scope}', true)"
    )


def secure_rows(engine: AsyncEngine, role: str = APP_ROLE) -> None:
    """Run every transaction of `engine` (PostgreSQL) as `role`, in the current scope."""
    if engine.dialect.name != "postgresql":
        return
    sync_engine = engine.sync_engine
    _secured.add(sync_engine)

    @event.listens_for(sync_engine, "do_connect")
    def _scoped_connections(_d: Any, _r: Any, _a: Any, params: dict[str, Any]) -> None:
        params.setdefault("connection_class", ScopedConnection)

    @event.listens_for(sync_engine, "checkin")
    def _nothing_pending(_dbapi_connection: Any, record: Any) -> None:
        # A unit of work that ended before its first statement never sent its BEGIN: its
        # scope must not wait for the next user of the connection (whose own begin sets
        # its scope anyway; this keeps a pool ping's BEGIN from carrying it).
        driver = record.driver_connection
        if isinstance(driver, ScopedConnection):
            driver.scope_next_begin(None)

    @event.listens_for(sync_engine, "begin")
    def _enter_scope(connection: Connection) -> None:
        driver = connection.connection.driver_connection
        scoped = driver if isinstance(driver, ScopedConnection) else None
        # In autocommit mode there is no transaction to scope (and the unit of work never
        # asks for it on such an engine): only the start-up check's catalogue reads.
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT" or options.get(_AS_LOGIN):
            if scoped is not None:
                scoped.scope_next_begin(None)
            return
        scope = current_scope()
        values = {"role": role, "scope": _undeclared() if scope is None else scope}
        statement = _scope_statement(values["role"], values["scope"])
        if scoped is not None and statement is not None:
            scoped.scope_next_begin(statement)
        else:
            connection.execute(_ENTER_SCOPE, values)


def as_the_login(engine: AsyncEngine) -> AsyncEngine:
    """`engine` (same pool) with its transactions run as the login, outside row-level
    security: for what is not the product's data and needs rights the application's role
    has not, e.g. the fake Stripe creating its own tables (adapters/fake_stripe/tables.py)."""
    return engine.execution_options(**{_AS_LOGIN: True})


def rows_secured(engine: AsyncEngine) -> bool:
    """Whether `engine` runs its transactions under row-level security (then each one needs
    a real transaction: in autocommit mode the settings would not outlive one statement)."""
    return engine.sync_engine in _secured


class RowSecurityMisconfigured(RuntimeError):
    """The application's role cannot be taken, or the policies would not bind it."""


async def check_the_login(engine: AsyncEngine, role: str = APP_ROLE) -> list[str]:
    """Checks the database login at start-up under row-level security. A superuser login
    is logged as a warning (and returned): the policies bind Bookpay's own queries, which
    run as `role`, but a superuser can leave that role, so a deployment must log in as a
    role of its own that is granted `role`. RowSecurityMisconfigured when `role` does not
    exist, the login may not take it, or it owns tables or bypasses row-level security.
    Nothing on SQLite or an engine without row-level security."""
    if not rows_secured(engine):
        return []
    problems: list[str] = []
    async with engine.connect() as connection:
        # As the login itself, not the role (which may be missing): catalogue reads only.
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        login = (
            await connection.execute(
                text("SELECT rolname, rolsuper FROM pg_roles WHERE rolname = session_user")
            )
        ).one()
        target = (
            await connection.execute(
                text(
                    "SELECT rolsuper OR rolbypassrls, "
                    "  pg_has_role(session_user, oid, 'MEMBER'), "
                    "  EXISTS (SELECT FROM pg_tables WHERE tableowner = :role) "
                    "FROM pg_roles WHERE rolname = :role"
                ),
                {"role": role},
            )
        ).one_or_none()
    if login.rolsuper:
        problems.append(
            f"the database login {login.rolname!r} is a superuser: row-level security holds "
            f"for Bookpay's own queries (each transaction runs as {role!r}), but a superuser "
            "can leave that role; in production log in as a role of its own that is granted "
            f"{role!r} (README, 'Row-level security')"
        )
    for problem in problems:
        log.warning("row-level security: %s", problem)
    if target is None:
        raise RowSecurityMisconfigured(
            f"the role {role!r} does not exist: run the migrations as a role that may create "
            f"it, or create it (NOLOGIN) and grant it to the login (README)"
        )
    bypasses, member, owns = target
    if not member and not login.rolsuper:
        raise RowSecurityMisconfigured(
            f"the database login {login.rolname!r} is not granted {role!r}: "
            f"GRANT {role} TO {login.rolname}"
        )
    if bypasses or owns:
        raise RowSecurityMisconfigured(
            f"{role!r} owns tables or bypasses row-level security: the policies would not bind it"
        )
    return problems
