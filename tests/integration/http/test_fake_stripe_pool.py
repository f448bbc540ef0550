"""The fake Stripe is not Bookpay's database work (issue 19): on PostgreSQL it has a small
pool of its own, so its tables cost none of the app's connections, as real Stripe costs
none; on SQLite it keeps sharing the app's one connection (one writer per file)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from adapters.sql.database import create_engine
from tests.support.http_app import build_test_app

# Far beyond the pool's wait (half the 1 s statement timeout): only a hang would reach it.
SAFETY_NET_SECONDS = 10


@pytest.mark.postgres
async def test_the_fake_stripe_needs_no_connection_of_the_apps_pool(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    _, container = build_test_app(
        tmp_path, migrated_postgres_url, fake_stripe_in_database=True, db_statement_timeout_ms=1000
    )
    container.engine.override(
        providers.Singleton(
            create_engine, migrated_postgres_url, pool_size=1, statement_timeout_ms=1000
        )
    )
    engine = container.engine()
    try:
        async with engine.connect(), asyncio.timeout(SAFETY_NET_SECONDS):
            # The app's only connection is taken: a fake sharing the pool would time out.
            status = await container.fake_gateway().create_connected_account(
                tenant_id="tn_pool", country="de", email=None, idempotency_key="k-pool"
            )
        assert status.account_id is not None
        assert (await container.fake_gateway().retrieve_account(status.account_id)).account_id
    finally:
        await container.fake_stripe_engine().dispose()
        await engine.dispose()


async def test_on_sqlite_the_fake_stripe_shares_the_apps_engine(tmp_path: Path) -> None:
    _, container = build_test_app(tmp_path, fake_stripe_in_database=True)
    app_pool = container.engine().sync_engine.pool
    assert container.fake_stripe_engine().sync_engine.pool is app_pool
    status = await container.fake_gateway().create_connected_account(
        tenant_id="tn_pool", country="de", email=None, idempotency_key="k-pool"
    )
    assert status.account_id is not None
    await container.engine().dispose()


@pytest.mark.postgres
async def test_the_fake_stripes_pool_has_the_size_its_setting_gives(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    _, container = build_test_app(
        tmp_path, migrated_postgres_url, fake_stripe_in_database=True, fake_stripe_pool_size=3
    )
    try:
        assert container.fake_stripe_engine().sync_engine.pool.size() == 3  # type: ignore[attr-defined]
    finally:
        await container.fake_stripe_engine().dispose()
        await container.engine().dispose()


async def test_the_fake_stripe_answers_where_its_calls_spent_their_time(tmp_path: Path) -> None:
    app, container = build_test_app(tmp_path, fake_stripe_in_database=True)
    try:
        async with AsyncTestClient(app) as client:
            answer = await client.get("/fake-stripe/timings")
    finally:
        await container.engine().dispose()
    assert answer.status_code == 200
    assert set(answer.json()) == {
        "calls",
        "call_seconds",
        "injected_seconds",
        "pool_wait_seconds",
        "holding_seconds",
        "connections",
    }
