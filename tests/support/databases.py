"""Databases for tests: a migrated SQLite file per test, one PostgreSQL database
per session (per xdist worker), and migrated PostgreSQL databases per test on demand.

PostgreSQL is named by BOOKPAY_TEST_DATABASE_URL (default: the local server). Each worker
creates databases of its own, named with the worker's id and a unique suffix, and drops
them afterwards; an empty database a test gave back with only tables and rows added is
emptied for the next test instead. Migrations run once per worker, into a template
database; a test's migrated database is a `CREATE DATABASE … TEMPLATE …` copy of it (a
file copy on SQLite), or on PostgreSQL a copy an earlier test gave back emptied
(tests.support.database_reuse).
An unreachable server fails the tests that need it; it never skips them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

from adapters.sql.migrations import migrate
from tests.support.database_reuse import Template, put_back, read_template, release
from tests.support.http_app import MIGRATED, migrated_sqlite_url
from tests.support.workers import worker_id

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_server_url() -> URL:
    return make_url(os.environ.get("BOOKPAY_TEST_DATABASE_URL", DEFAULT_POSTGRES_URL))


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: URL, *statements: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def create_postgres_database(prefix: str = "bookpay_test", *, template: str | None = None) -> str:
    """Create a PostgreSQL database with a unique name, empty or a copy of the database
    `template` (a URL); its SQLAlchemy URL."""
    server = postgres_server_url()
    name = f"{prefix}_{worker_id()}_{uuid.uuid4().hex[:12]}"
    statement = f'CREATE DATABASE "{name}"'
    if template is not None:
        statement += f' TEMPLATE "{make_url(template).database}"'
    # A test database is thrown away, never recovered after a crash: a commit need not wait
    # for its WAL to reach the disk (about a millisecond each). Nothing a session sees
    # changes. (A copy does not inherit its template's settings: each database gets it.)
    durability = f'ALTER DATABASE "{name}" SET synchronous_commit = off'
    try:
        asyncio.run(_admin(server, statement, durability))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        pytest.fail(
            f"PostgreSQL at {server.render_as_string()} is unreachable or refused to create a "
            f"test database ({error!r}); start it or set BOOKPAY_TEST_DATABASE_URL",
            pytrace=False,
        )
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    drop_postgres_databases([url])


def drop_postgres_databases(urls: Sequence[str]) -> None:
    """Drop the databases at `urls` (SQLAlchemy URLs) at once, whoever is connected.

    Each DROP DATABASE waits for a checkpoint of the server; drops waiting together share
    one, so N of them at once cost about what one costs alone."""
    if not urls:
        return
    for url in urls:
        release(_asyncpg_dsn(make_url(url)))
    server = postgres_server_url()

    async def drop_all() -> None:
        await asyncio.gather(
            *(
                _admin(server, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
                for url in urls
            )
        )

    asyncio.run(drop_all())


@pytest.fixture(scope="session")
def _dropped_at_the_end() -> Iterator[list[str]]:
    """The worker's databases to drop when its tests are done: a copy a test changed beyond
    its rows, the spares, the templates. Dropped together at the end (drop_postgres_databases)
    instead of one checkpoint of the server each, in the tests' time."""
    urls: list[str] = []
    try:
        yield urls
    finally:
        drop_postgres_databases(urls)


@pytest.fixture(scope="session")
def _empty_postgres_spares(
    _dropped_at_the_end: list[str],
) -> Iterator[tuple[list[Template], list[str]]]:
    """What a new empty database is (read from the worker's first), and this worker's empty
    databases that tests gave back in that state (tables they made dropped); dropped at
    the end."""
    empty: list[Template] = []
    spares: list[str] = []
    try:
        yield empty, spares
    finally:
        _dropped_at_the_end.extend(spares)


@pytest.fixture
def fresh_postgres_url(
    _empty_postgres_spares: tuple[list[Template], list[str]], _dropped_at_the_end: list[str]
) -> Iterator[str]:
    """An empty PostgreSQL database of this test's own: a new one, or one a test before
    gave back empty (tests.support.database_reuse). Given back when it only gained tables
    and rows, dropped at the end of the worker's tests otherwise."""
    empty, spares = _empty_postgres_spares
    url = spares.pop() if spares else create_postgres_database()
    dsn = _asyncpg_dsn(make_url(url))
    if not empty:
        empty.append(asyncio.run(read_template(dsn)))
    try:
        yield url
    finally:
        if put_back(dsn, empty[0]):
            spares.append(url)
        else:
            _dropped_at_the_end.append(url)


@pytest.fixture(scope="session")
def _postgres_template(_dropped_at_the_end: list[str]) -> Iterator[str]:
    """The worker's migrated template; nothing connects to it but CREATE DATABASE."""
    url = create_postgres_database("bookpay_template")
    try:
        migrate(url)
        yield url
    finally:
        _dropped_at_the_end.append(url)


@pytest.fixture(scope="session")
def postgres_url(_postgres_template: str, _dropped_at_the_end: list[str]) -> Iterator[str]:
    """A migrated PostgreSQL database shared by the worker's tests (use unique ids)."""
    url = create_postgres_database(template=_postgres_template)
    MIGRATED.add(url)
    try:
        yield url
    finally:
        _dropped_at_the_end.append(url)


@pytest.fixture(scope="session")
def _postgres_spares(
    _postgres_template: str, _dropped_at_the_end: list[str]
) -> Iterator[tuple[Template, list[str]]]:
    """The template as a copy must still be to be taken over, and this worker's copies that
    tests gave back in that state (tests.support.database_reuse); dropped at the end."""
    spares: list[str] = []
    try:
        yield asyncio.run(read_template(_asyncpg_dsn(make_url(_postgres_template)))), spares
    finally:
        _dropped_at_the_end.extend(spares)


@pytest.fixture
def migrated_postgres_url(
    _postgres_template: str,
    _postgres_spares: tuple[Template, list[str]],
    _dropped_at_the_end: list[str],
) -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own: a copy of the template, or one a
    test before gave back in the template's state. Given back when only its rows changed
    (emptied then), dropped at the end of the worker's tests otherwise."""
    template, spares = _postgres_spares
    url = spares.pop() if spares else create_postgres_database(template=_postgres_template)
    MIGRATED.add(url)
    try:
        yield url
    finally:
        if put_back(_asyncpg_dsn(make_url(url)), template):
            spares.append(url)
        else:
            _dropped_at_the_end.append(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database file of this test's own."""
    return migrated_sqlite_url(tmp_path / "bookpay.db")


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite database file of this test's own."""
    return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
