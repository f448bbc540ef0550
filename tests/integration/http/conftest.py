"""The HTTP app in-process (tests.support.http_app), driven by an async test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app
from tests.support.webhook_shop import ENGINES, Shop, shop_on


@dataclass
class Api:
    client: AppClient
    admin_key: str

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Api(client, ADMIN_KEY)


@pytest.fixture(params=ENGINES)
def webhook_database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def webhook_shop(webhook_database_url: str | None, tmp_path: Path) -> AsyncIterator[Shop]:
    """The app whose Stripe webhooks a test can lose, hold or forge
    (tests.support.webhook_shop), on SQLite and on PostgreSQL."""
    async with shop_on(webhook_database_url, tmp_path) as shop:
        yield shop
