"""Fixtures of the terms tests: each runs on SQLite and PostgreSQL, with a manual clock and a
shop whose webhooks can be held back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dependency_injector import providers

from application.ports.gateway import WebhookEndpoint
from tests.fakes.clock import ManualClock
from tests.integration.http.terms.shop import Shop
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
async def shop(database_url: str | None, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Shop]:
    app, container = build_test_app(tmp_path, database_url)
    container.clock.override(providers.Object(clock))
    deliver = container.webhook_delivery()
    webhooks = {"arriving": True}

    async def maybe_deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        if not webhooks["arriving"]:
            return 503
        return int(await deliver(endpoint, body, headers))

    container.webhook_delivery.override(providers.Object(maybe_deliver))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Shop(client, container, webhooks=webhooks)
