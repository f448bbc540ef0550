"""A sick database (issue 14, "A sick database"): a held lock, a database that refuses
connections or a role at its connection limit answers 503 with Retry-After, never 500 and
never a stalled request; /health/live stays up and /health/ready says not ready.

The lock is held for as long as the test runs: without statement and lock timeouts the
requests below would never answer, so their answering at all is the proof. The outer
`asyncio.timeout` only keeps a regression from hanging the whole test run.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.support.app_client import AppClient
from tests.support.databases import postgres_server_url
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
TENANT = {
    "name": "Studio",
    "slug": "studio",
    "country": "US",
    "default_currency": "usd",
    "timezone": "UTC",
}
SAFETY_NET_SECONDS = 60


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:bookpay:problem:database-unavailable"
    assert int(response.headers["retry-after"]) > 0


# slow: it waits out the database's lock and statement timeouts (seconds) on purpose.
@pytest.mark.slow
@pytest.mark.postgres
async def test_a_held_table_lock_answers_503_and_not_ready_instead_of_stalling(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    app, _ = build_test_app(tmp_path, migrated_postgres_url, db_statement_timeout_ms=1000)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        created = await client.post("/v1/admin/tenants", json=TENANT, headers=ADMIN)
        assert created.status_code == 201, created.text
        tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
        assert (await client.get("/health/ready")).status_code == 200

        locker = await asyncpg.connect(_dsn(migrated_postgres_url))
        try:
            holding = locker.transaction()
            await holding.start()
            # What a careless migration or a stuck maintenance job does.
            await locker.execute("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE")
            async with asyncio.timeout(SAFETY_NET_SECONDS):
                live = await client.get("/health/live")
                assert live.status_code == 200
                ready = await client.get("/health/ready")
                assert ready.status_code == 503
                assert ready.json()["status"] == "unavailable"
                _unavailable(await client.get("/v1/tenant", headers=tenant))
                _unavailable(await client.get("/v1/admin/tenants", headers=ADMIN))
                _unavailable(await client.get("/v1/public/studio/offerings"))
            await holding.rollback()
        finally:
            await locker.close()

        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/v1/tenant", headers=tenant)).status_code == 200


@pytest.mark.postgres
async def test_a_database_that_refuses_connections_answers_503(tmp_path: Path) -> None:
    # Nothing listens on port 1 of this host: every connection is refused.
    refused = make_url(postgres_server_url().render_as_string(hide_password=False)).set(
        port=1, database="nowhere"
    )
    app, _ = build_test_app(
        tmp_path, refused.render_as_string(hide_password=False), migrate_first=False
    )
    async with AppClient(app=app, base_url=BASE_URL) as client:
        async with asyncio.timeout(SAFETY_NET_SECONDS):
            assert (await client.get("/health/live")).status_code == 200
            assert (await client.get("/health/ready")).status_code == 503
            _unavailable(await client.get("/v1/admin/tenants", headers=ADMIN))
            _unavailable(await client.get("/v1/tenant", headers={"Authorization": "Bearer k"}))


@pytest.mark.postgres
async def test_a_role_at_its_connection_limit_answers_503(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    role = f"bookpay_full_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(_dsn(fresh_postgres_url))
    try:
        await server.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
        url = make_url(fresh_postgres_url).set(username=role, password=None)
        app, _ = build_test_app(
            tmp_path, url.render_as_string(hide_password=False), migrate_first=False
        )
        async with AppClient(app=app, base_url=BASE_URL) as client:
            async with asyncio.timeout(SAFETY_NET_SECONDS):
                assert (await client.get("/health/ready")).status_code == 503
                _unavailable(await client.get("/v1/admin/tenants", headers=ADMIN))
    finally:
        await server.execute(f"DROP ROLE IF EXISTS {role}")
        await server.close()
