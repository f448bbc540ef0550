"""Review 12b: the webhook shop of tests.support, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.webhook_shop import ENGINES, Shop, shop_on


@pytest.fixture(params=ENGINES)
def review_database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def shop(review_database_url: str | None, tmp_path: Path) -> AsyncIterator[Shop]:
    async with shop_on(review_database_url, tmp_path) as opened:
        yield opened
