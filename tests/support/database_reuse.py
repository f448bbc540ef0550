"""Migrated PostgreSQL databases put back to their template's state after a test, so the
next test of the worker takes one instead of a new copy.

`CREATE DATABASE … TEMPLATE` and `DROP DATABASE` each cost the server a copy of every file
and a forced checkpoint (about a second of waiting per test on a busy machine); emptying the
few rows a test wrote costs milliseconds. A database is taken back only when nothing but
rows, and tables of the test's own, changed: its schema, grants, policies, sequences,
settings and the template's own rows (alembic's version) must be exactly the template's,
else it is dropped as before. Rows are deleted, not truncated: TRUNCATE makes new files,
DELETE of a handful of rows does not. Tables a test made (the fake Stripe makes its own on
first use) are dropped first, without CASCADE: one that something else needs stays, and the
copy is dropped as before.

The check runs on a connection kept open to each copy, between tests, on an event loop of
its own: a new connection costs a server process, and its first look at the catalog reads
it cold (about 25 of a put-back's 35 ms). Kept connections are idle, outside any
transaction: they hold no lock and see no test's rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

# Every user-made object of a database, in words: two databases with the same description
# differ only in their rows. (Schemas other than PostgreSQL's own.)
_DESCRIPTION = """
WITH ns AS (SELECT oid FROM pg_namespace
             WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema')
SELECT x FROM (
  SELECT format('schema %s %s', nspname, nspacl) AS x FROM pg_namespace
   WHERE oid IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('relation %s %s %s %s %s %s', c.oid::regclass, c.relkind, c.relacl,
                c.relrowsecurity, c.relforcerowsecurity, c.reloptions)
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('column %s %s %s %s %s %s %s', a.attrelid::regclass, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attisdropped,
                a.attidentity, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND c.relnamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('constraint %s %s %s %s', conrelid::regclass, contypid, conname,
                pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('policy %s %s %s %s %s %s %s', polrelid::regclass, polname, polcmd,
                polpermissive, polroles, pg_get_expr(polqual, polrelid),
                pg_get_expr(polwithcheck, polrelid))
    FROM pg_policy
  UNION ALL
  SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL
  SELECT format('function %s %s %s', p.oid::regprocedure, md5(p.prosrc), p.proacl)
    FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('type %s %s %s', t.oid::regtype, t.typtype, t.typacl)
    FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT format('enum %s %s %s', enumtypid::regtype, enumsortorder, enumlabel) FROM pg_enum
  UNION ALL
  SELECT format('sequence %s.%s %s', schemaname, sequencename, last_value) FROM pg_sequences
  UNION ALL
  SELECT format('extension %s %s', extname, extversion) FROM pg_extension
  UNION ALL
  SELECT format('default acl %s %s %s', defaclrole, defaclobjtype, defaclacl)
    FROM pg_default_acl
  UNION ALL
  SELECT format('event trigger %s %s', evtname, evtfoid::regproc) FROM pg_event_trigger
  UNION ALL
  SELECT format('settings %s %s', setrole, setconfig) FROM pg_db_role_setting
   WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL
  SELECT format('database %s %s %s', datacl, datconnlimit, datallowconn) FROM pg_database
   WHERE datname = current_database()
) described ORDER BY x
"""
_TABLES = """
WITH ns AS (SELECT oid FROM pg_namespace
             WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema')
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND c.relnamespace IN (SELECT oid FROM ns) ORDER BY 1
"""


# Table names below come from the catalog, quoted by format('%I'): no input reaches the SQL.


class Template:
    """What a copy of the migrated template must still be for a test to take it over."""

    def __init__(self, description: str, seeded: dict[str, str], empty: list[str]) -> None:
        self.description = description
        self.seeded = seeded  # table -> digest of its rows, for the tables the template fills
        self.empty = empty  # the tables the template leaves empty


async def _rows_digest(connection: asyncpg.Connection, table: str) -> str:
    rows = await connection.fetch(f"SELECT t::text FROM {table} AS t ORDER BY 1")  # noqa: S608
    return hashlib.sha256("\n".join(row[0] for row in rows).encode()).hexdigest()


async def _describe(connection: asyncpg.Connection) -> str:
    rows = await connection.fetch(_DESCRIPTION)
    return "\n".join(row[0] for row in rows)


async def read_template(dsn: str) -> Template:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        seeded, empty = {}, []
        for (table,) in await connection.fetch(_TABLES):
            if await connection.fetchval(f"SELECT EXISTS (SELECT FROM {table})"):  # noqa: S608
                seeded[table] = await _rows_digest(connection, table)
            else:
                empty.append(table)
        return Template(await _describe(connection), seeded, empty)
    finally:
        await connection.close()


async def _put_back(connection: asyncpg.Connection, template: Template) -> bool:
    # Whatever the test left connected (a pool, a task) goes, its locks with it.
    await connection.execute(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    known = {*template.seeded, *template.empty}
    made = [table for (table,) in await connection.fetch(_TABLES) if table not in known]
    if made:
        # Cheaper than a new copy (a DROP and a CREATE DATABASE, each a checkpoint). What
        # else the test changed, the description below still finds.
        try:
            await connection.execute(f"DROP TABLE {', '.join(made)}")
        except asyncpg.DependentObjectsStillExistError:
            return False
    if await _describe(connection) != template.description:
        return False
    for table, digest in template.seeded.items():
        if await _rows_digest(connection, table) != digest:
            return False
    if template.empty:
        probe = " UNION ALL ".join(
            f"SELECT {index} WHERE EXISTS (SELECT FROM {table})"  # noqa: S608
            for index, table in enumerate(template.empty)
        )
        written = [template.empty[row[0]] for row in await connection.fetch(probe)]
        if written:
            async with connection.transaction():
                # Foreign keys are triggers, which a replica session does not fire: every
                # written table is emptied whole, so no reference is left dangling.
                await connection.execute("SET LOCAL session_replication_role = replica")
                for table in written:
                    await connection.execute(f"DELETE FROM {table}")  # noqa: S608
    return True


# The process's kept connections, by DSN, and the loop they belong to (asyncpg connections
# live on the loop that opened them; every test makes loops of its own).
_KEPT: dict[str, asyncpg.Connection] = {}
_LOOP: asyncio.AbstractEventLoop | None = None
_LOOP_LOCK = threading.Lock()
_Result = TypeVar("_Result")
# What a kept connection killed since (by a test, or a forced drop) raises on first use.
_GONE = (asyncpg.ConnectionDoesNotExistError, asyncpg.AdminShutdownError, ConnectionError)


def _on_own_loop(work: Coroutine[Any, Any, _Result]) -> _Result:
    global _LOOP
    with _LOOP_LOCK:
        if _LOOP is None:
            _LOOP = asyncio.new_event_loop()
            threading.Thread(target=_LOOP.run_forever, name="put-back", daemon=True).start()
    return asyncio.run_coroutine_threadsafe(work, _LOOP).result()


async def _connect(dsn: str) -> asyncpg.Connection:
    # A lock still held makes the put-back fail (the copy is dropped), not wait for ever.
    return await asyncpg.connect(dsn, timeout=10, server_settings={"lock_timeout": "10s"})


async def _put_back_kept(dsn: str, template: Template) -> bool:
    kept = _KEPT.pop(dsn, None)
    taken = False
    if kept is not None and not kept.is_closed():
        try:
            taken = await _put_back(kept, template)
        except _GONE:
            kept.terminate()
            kept = None
    if kept is None or kept.is_closed():
        kept = await _connect(dsn)
        try:
            taken = await _put_back(kept, template)
        except BaseException:
            kept.terminate()
            raise
    if taken:
        _KEPT[dsn] = kept
    else:
        await kept.close()
    return taken


async def _release(dsn: str) -> None:
    kept = _KEPT.pop(dsn, None)
    if kept is not None:
        kept.terminate()


def put_back(dsn: str, template: Template) -> bool:
    """Empty what a test wrote into a copy of the template; False (the copy should be
    dropped) when anything but rows differs from the template, or it cannot be checked.
    The connection that checked a copy taken back stays open for its next put-back."""
    try:
        return _on_own_loop(_put_back_kept(dsn, template))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return False


def release(dsn: str) -> None:
    """Close the connection kept to `dsn`, if any (before the database is dropped)."""
    if dsn in _KEPT:
        _on_own_loop(_release(dsn))
