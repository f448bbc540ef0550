"""Issue 14, second review: a 404 does not echo kilobytes of what the client sent."""

from __future__ import annotations

from pathlib import Path

from application.errors import NotFound
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app


async def test_a_long_unknown_slug_is_not_echoed_whole(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path)
    slug = "a" * 10_000
    async with AppClient(app=app, base_url=BASE_URL) as client:
        answer = await client.get(f"/v1/public/{slug}/offerings")

    assert answer.status_code == 404, answer.text[:300]
    detail = answer.json()["detail"]
    assert len(detail) < 200
    assert "a" * 64 in detail


def test_a_short_ident_is_named_whole_and_a_long_one_cut() -> None:
    assert str(NotFound("tenant", "yoga-studio")) == "tenant yoga-studio not found"
    long = NotFound("booking", "b" * 5000)
    assert str(long) == f"booking {'b' * 64}… not found"
    assert long.ident == "b" * 5000
