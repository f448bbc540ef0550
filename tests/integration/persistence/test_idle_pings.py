"""PostgreSQL connections are pinged before use only after sitting idle (issue 19).

A ping costs BEGIN, `;` and ROLLBACK; SQLAlchemy's pool_pre_ping paid them before every
unit of work. Here a connection whose backend was terminated while it sat in the pool is
replaced without the caller noticing when it is older than the idle threshold; below the
threshold it is used unpinged, so the first use after the termination fails (the trade
made for the round trips) and the pool then replaces it.
"""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.pings import ping_when_idle

pytestmark = pytest.mark.postgres


def _engine(url: str, after_seconds: float) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, after_seconds)
    return engine


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(url: str, pid: int) -> None:
    killer = create_async_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        async with killer.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.dispose()


async def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    fresh_postgres_url: str,
) -> None:
    engine = _engine(fresh_postgres_url, after_seconds=0)
    try:
        first = await _backend_pid(engine)
        await _terminate(fresh_postgres_url, first)
        second = await _backend_pid(engine)
    finally:
        await engine.dispose()

    assert second != first


async def test_a_connection_used_a_moment_ago_is_not_pinged(fresh_postgres_url: str) -> None:
    engine = _engine(fresh_postgres_url, after_seconds=3600)
    try:
        first = await _backend_pid(engine)
        await _terminate(fresh_postgres_url, first)
        with pytest.raises(sqlalchemy.exc.DBAPIError):
            await _backend_pid(engine)
        second = await _backend_pid(engine)  # the pool replaced the broken connection
    finally:
        await engine.dispose()

    assert second != first
