"""The HTTP app in-process (tests.support.http_app), driven by an async test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app


@dataclass
class Api:
    client: AsyncTestClient[Any]
    admin_key: str

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    app, _ = build_test_app(tmp_path)
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        yield Api(client, ADMIN_KEY)
