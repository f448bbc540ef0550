"""Review of issue 14, finding 3: a lock held on any table the API needs makes
/health/ready say not ready, and a request under a held lock waits for the pool and the
lock together no longer than the configured timeout (not once for each)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from dependency_injector import providers
from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.sql.database import create_engine
from tests.integration.http.test_sick_database import ADMIN, SAFETY_NET_SECONDS, TENANT, _dsn
from tests.integration.http.test_sick_database import _unavailable as unavailable
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app

CORE_TABLES = ["bookings", "slots", "offerings", "idempotency_keys", "tenant_api_keys"]


# slow: it waits out the database's lock and statement timeouts (seconds) on purpose.
@pytest.mark.slow
@pytest.mark.postgres
async def test_ready_says_not_ready_when_any_core_table_is_locked(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    app, _ = build_test_app(tmp_path, migrated_postgres_url, db_statement_timeout_ms=1000)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        created = await client.post("/v1/admin/tenants", json=TENANT, headers=ADMIN)
        tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
        locker = await asyncpg.connect(_dsn(migrated_postgres_url))
        try:
            for table in CORE_TABLES:
                assert (await client.get("/health/ready")).status_code == 200, table
                holding = locker.transaction()
                await holding.start()
                await locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                async with asyncio.timeout(SAFETY_NET_SECONDS):
                    assert (await client.get("/health/live")).status_code == 200
                    ready = await client.get("/health/ready")
                    assert ready.status_code == 503, table
                    if table == "bookings":
                        unavailable(await client.get("/v1/tenant/bookings", headers=tenant))
                await holding.rollback()
        finally:
            await locker.close()
        assert (await client.get("/health/ready")).status_code == 200


# slow: it waits out the database's lock and statement timeouts (seconds) on purpose.
@pytest.mark.slow
@pytest.mark.postgres
async def test_many_requests_under_a_held_lock_all_answer_503(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    """More requests than the pool has connections: those queued for a connection and
    those waiting on the lock all get 503 (the bound itself is the next test's)."""
    app, container = build_test_app(tmp_path, migrated_postgres_url, db_statement_timeout_ms=1000)
    container.engine.override(
        providers.Singleton(
            create_engine, migrated_postgres_url, pool_size=3, statement_timeout_ms=1000
        )
    )
    async with AppClient(app=app, base_url=BASE_URL) as client:
        created = await client.post("/v1/admin/tenants", json=TENANT, headers=ADMIN)
        tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
        locker = await asyncpg.connect(_dsn(migrated_postgres_url))
        try:
            holding = locker.transaction()
            await holding.start()
            await locker.execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
            async with asyncio.timeout(SAFETY_NET_SECONDS):
                answers = await asyncio.gather(
                    *(client.get("/v1/tenant/bookings", headers=tenant) for _ in range(12))
                )
            for answer in answers:
                unavailable(answer)
            await holding.rollback()
        finally:
            await locker.close()


@pytest.mark.postgres
async def test_the_pool_wait_and_the_lock_wait_share_one_budget(migrated_postgres_url: str) -> None:
    engine = create_engine(migrated_postgres_url, statement_timeout_ms=1000)
    try:
        async with engine.connect() as connection:
            lock_ms = int(
                await connection.scalar(
                    text("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'")
                )
            )
        pool_ms = engine.pool.timeout() * 1000  # type: ignore[attr-defined]
        assert lock_ms > 0
        assert pool_ms > 0
        assert lock_ms + pool_ms <= 1000
    finally:
        await engine.dispose()


# slow: it waits out SQLite's busy timeout on purpose.
@pytest.mark.slow
async def test_ready_says_not_ready_while_another_process_holds_sqlite_write_lock(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        assert (await client.get("/health/ready")).status_code == 200
        path = make_url(f"sqlite:///{tmp_path / 'http.db'}").database
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            async with asyncio.timeout(SAFETY_NET_SECONDS):
                assert (await client.get("/health/ready")).status_code == 503
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert (await client.get("/health/ready")).status_code == 200
