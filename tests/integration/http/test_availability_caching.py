"""Public availability is cacheable for a few seconds and revalidated by its ETag (issue 19).

A browser or CDN may reuse an answer for AVAILABILITY_MAX_AGE_SECONDS; after that, or on
a reload, If-None-Match with the ETag gets 304 without a body while the seats are the
same, and the new answer as soon as a seat is held. Checkout always re-checks the seats.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from entrypoints.http.caching import AVAILABILITY_MAX_AGE_SECONDS, matches
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import OpenShop, open_shop


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield client


async def _slots_path(client: AppClient, shop: OpenShop) -> str:
    offerings = await client.get(f"/v1/public/{shop.slug}/offerings")
    assert offerings.status_code == 200, offerings.text
    return f"/v1/public/{shop.slug}/offerings/{offerings.json()['data'][0]['id']}/slots"


async def test_availability_is_revalidated_by_its_etag_until_a_seat_is_taken(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    path = await _slots_path(client, shop)

    first = await client.get(path)
    tag = first.headers["etag"]
    again = await client.get(path, headers={"If-None-Match": tag})
    other = await client.get(path, headers={"If-None-Match": '"something-else"'})
    checkout = await client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 2, "customer": {"email": "ada@example.com"}},
    )
    assert checkout.status_code == 201, checkout.text
    after_sale = await client.get(path, headers={"If-None-Match": tag})

    assert first.status_code == 200
    assert first.json()["data"][0]["seats_available"] == 5
    assert first.headers["cache-control"] == f"public, max-age={AVAILABILITY_MAX_AGE_SECONDS}"
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert other.status_code == 200
    assert other.headers["etag"] == tag
    # A seat held: the old validator no longer matches, and the new answer says so.
    assert after_sale.status_code == 200
    assert after_sale.json()["data"][0]["seats_available"] == 3
    assert after_sale.headers["etag"] != tag


async def test_an_unknown_offering_is_not_cached(client: AppClient) -> None:
    shop = await open_shop(client)

    missing = await client.get(f"/v1/public/{shop.slug}/offerings/of_nope/slots")

    assert missing.status_code == 404
    assert "etag" not in missing.headers


@pytest.mark.parametrize(
    ("header", "matched"),
    [
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_uses_the_weak_comparison(header: str | None, matched: bool) -> None:
    assert matches(header, '"abc"') is matched
