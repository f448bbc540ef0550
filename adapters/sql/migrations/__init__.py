"""Alembic migrations, run programmatically: `migrate(url)` takes any database to head.

No alembic.ini is needed: the configuration is built here, so this works from any working
directory, from the CLI, from tests and from a server's start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from adapters.sql.database import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for these migrations, bound to `connection` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# Migrations are not requests: a CREATE INDEX on a large table, or a process waiting for
# another one's migration lock, may take minutes, not the API's few seconds.
MIGRATION_TIMEOUT_MS = 15 * 60 * 1000


async def run_on(url: str, work: Callable[[Connection], None]) -> None:
    """Run `work` on a connection to the database at `url`, then commit; every statement and
    lock wait bounded by MIGRATION_TIMEOUT_MS (PostgreSQL), not by the API's timeouts."""
    engine = create_engine(url, statement_timeout_ms=MIGRATION_TIMEOUT_MS)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(work)
            await connection.commit()
    finally:
        await engine.dispose()


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision` (head by default)."""
    await run_on(url, lambda connection: command.upgrade(alembic_config(connection), revision))


async def downgrade_async(url: str, revision: str = "base") -> None:
    """Migrate the database at `url` down to `revision` (base, i.e. empty, by default)."""
    await run_on(url, lambda connection: command.downgrade(alembic_config(connection), revision))


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    # Called from async code: an event loop of its own, on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def migrate(url: str) -> None:
    """Take the database at `url` (PostgreSQL or SQLite) to the newest schema."""
    _run(upgrade_async(url))


def downgrade_to_base(url: str) -> None:
    """Undo every migration of the database at `url`."""
    _run(downgrade_async(url))
