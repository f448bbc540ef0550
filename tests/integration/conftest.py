"""Databases for integration tests: a migrated SQLite file per test, one PostgreSQL database
per session.

PostgreSQL is named by BOOKPAY_TEST_DATABASE_URL (default: the local server). Each session
creates a database of its own with a unique name and drops it afterwards. An unreachable
server fails the tests that need it; it never skips them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

from adapters.sql.migrations import migrate

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


def create_postgres_database(prefix: str = "bookpay_test") -> str:
    """Create an empty PostgreSQL database with a unique name; its SQLAlchemy URL."""
    server = postgres_server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        pytest.fail(
            f"PostgreSQL at {server.render_as_string()} is unreachable or refused to create a "
            f"test database ({error!r}); start it or set BOOKPAY_TEST_DATABASE_URL",
            pytrace=False,
        )
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(postgres_server_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test's own, dropped afterwards."""
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database shared by the session's tests (use unique ids)."""
    url = create_postgres_database()
    try:
        migrate(url)
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(_migrated_sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database file of this test's own."""
    path = tmp_path / "bookpay.db"
    shutil.copyfile(_migrated_sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite database file of this test's own."""
    return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
