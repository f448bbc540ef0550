"""Issue 14, second review: the hosted booking form's seats field.

A seats value of more than 4300 digits passes `isdecimal()` and then makes `int()` raise
(Python's limit on the digits of an int read from a string): the form answered 500.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.http.test_booking_pages import offering_id, submit_form
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import open_shop


@pytest.mark.parametrize("action", ["quote", "book"])
@pytest.mark.parametrize("digits", [7, 4301, 50_000])
async def test_seats_with_too_many_digits_are_an_error_beside_the_field(
    tmp_path: Path, action: str, digits: int
) -> None:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        form_url = f"/book/{shop.slug}/{await offering_id(client, shop)}/{shop.slot_id}"

        sent = await submit_form(
            client,
            form_url,
            name="Ada",
            email="ada@example.com",
            seats="1" * digits,
            action=action,
        )

    assert sent.status_code == 422, sent.text[:500]
    assert 'id="seats-error"' in sent.text
