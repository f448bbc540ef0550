"""The in-process apps that build_test_app lends again: a test gets the settings it asked
for, even from an app built for another test."""

from __future__ import annotations

from pathlib import Path

from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app, give_back_lent_apps


async def test_an_app_lent_again_obeys_the_limits_of_its_new_test(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first, _ = build_test_app(tmp_path / "first")  # limits off
    give_back_lent_apps()  # as at the end of a test

    second, _ = build_test_app(tmp_path / "second", auth_failures_per_minute=1)

    assert second is first  # the limits are the container's: no new app for them
    wrong_key = {"Authorization": "Bearer bp_admin_wrong_" + "k" * 20}
    async with AppClient(app=second, base_url=BASE_URL) as client:
        answers = [(await client.get("/v1/admin/tenants", headers=wrong_key)) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 429, 429]
