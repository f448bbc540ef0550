"""The test client runs the app in the test's own event loop (tests/support/app_client.py):
a test that also uses the app's engine, or its clock, shares one loop with the requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from dependency_injector import providers

from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY, build_test_app

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


class LoopWitness:
    """A clock that notes the event loop of everyone who reads it."""

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []

    def now(self) -> datetime:
        self.loops.append(asyncio.get_running_loop())
        return datetime.now(UTC)


async def test_the_app_serves_a_request_in_the_tests_event_loop(tmp_path: Path) -> None:
    app, container = build_test_app(tmp_path)
    witness = LoopWitness()
    container.clock.override(providers.Object(witness))
    body = {
        "name": "Loop Studio",
        "slug": "loop-studio",
        "country": "US",
        "default_currency": "usd",
        "timezone": "UTC",
    }
    async with AppClient(app) as client:
        created = await client.post("/v1/admin/tenants", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
    assert witness.loops, "creating a tenant reads the clock"
    assert set(witness.loops) == {asyncio.get_running_loop()}


async def test_a_request_waits_for_the_sqlite_connection_the_test_holds(tmp_path: Path) -> None:
    """What failed with Litestar's test client: the test held the pool's one connection
    and a request needed it from another loop. There the request blocked the test's loop
    until the pool gave up; here it waits its turn and is answered."""
    app, container = build_test_app(tmp_path)
    engine = container.engine()
    async with AppClient(app) as client:
        async with engine.connect() as held:
            listing = asyncio.create_task(client.get("/v1/admin/tenants", headers=ADMIN))
            # The request runs while the test waits on SQLite, as far as the pool.
            tenants = (await held.exec_driver_sql("select count(*) from tenants")).scalar()
        answer = await listing
    assert tenants == 0
    assert answer.status_code == 200, answer.text
