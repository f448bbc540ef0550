"""Fixtures of the fee governance tests: each runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from entrypoints.container import Container
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
def app_and_container(database_url: str | None, tmp_path: Path) -> tuple[Any, Container]:
    return build_test_app(tmp_path, database_url)


@pytest.fixture
async def client(app_and_container: tuple[Any, Container]) -> AsyncIterator[AppClient]:
    async with AppClient(app=app_and_container[0], base_url=BASE_URL) as test_client:
        yield test_client
