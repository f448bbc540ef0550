"""Issue 14, loose parsing left over: a JSON body in another charset, and duplicate keys.

RFC 8259 says JSON exchanged between systems is UTF-8. A body declared in another charset
is not a media type Bookpay reads (415, as any body not declared JSON). An object naming
a key twice is ambiguous (parsers disagree on which value wins, so two readers of one
request could see two different requests): 400.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.app_client import AppClient
from tests.support.hard_edges import checkout_body, expect_problem, new_shop
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "charset", ["iso-8859-1", "latin1", "utf-16", "windows-1252", "", "utf-8, iso-8859-1"]
)
async def test_a_json_body_in_another_charset_is_unsupported(
    client: AppClient, charset: str
) -> None:
    shop = await new_shop(client)
    response = await client.post(
        f"/v1/public/{shop.slug}/checkout",
        content=json.dumps(checkout_body(shop)).encode(),
        headers={"content-type": f"application/json; charset={charset}"},
    )
    body = expect_problem(response, 415)
    assert "UTF-8" in body["detail"]


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "Utf-8"])
async def test_utf8_declared_is_read(client: AppClient, charset: str) -> None:
    shop = await new_shop(client)
    response = await client.post(
        f"/v1/public/{shop.slug}/checkout",
        content=json.dumps(checkout_body(shop)).encode(),
        headers={"content-type": f"application/json; charset={charset}"},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "body",
    [
        b'{"slot_id": "%s", "seats": 1, "seats": 5, "customer": {"email": "a@example.com"}}',
        b'{"slot_id": "%s", "seats": 1, "customer": {"email": "a@example.com", '
        b'"email": "b@example.com"}}',
        b'{"slot_id": "%s", "seats": 1, "customer": {"email": "a@example.com"}, '
        b'"success_url": null, "success_url": null}',
    ],
)
async def test_an_object_naming_a_key_twice_is_refused(client: AppClient, body: bytes) -> None:
    shop = await new_shop(client)
    response = await client.post(
        f"/v1/public/{shop.slug}/checkout",
        content=body % shop.slot_id.encode(),
        headers={"content-type": "application/json"},
    )
    problem = expect_problem(response, 400)
    assert "more than once" in problem["detail"], problem


async def test_a_duplicate_key_in_an_admin_body_is_refused_and_writes_nothing(
    client: AppClient,
) -> None:
    body = (
        b'{"name": "A", "slug": "dup-a", "slug": "dup-b", "country": "US", '
        b'"default_currency": "usd", "timezone": "UTC"}'
    )
    response = await client.post(
        "/v1/admin/tenants", content=body, headers={**ADMIN, "content-type": "application/json"}
    )
    expect_problem(response, 400)
    listed = await client.get("/v1/admin/tenants", headers=ADMIN)
    assert [t["slug"] for t in listed.json()["data"]] == []


async def test_the_same_key_in_two_objects_is_fine(client: AppClient) -> None:
    """Only a key named twice in one object is ambiguous."""
    shop = await new_shop(client)
    body = checkout_body(shop, customer={"email": "a@example.com", "name": "seats"})
    response = await client.post(f"/v1/public/{shop.slug}/checkout", json=body)
    assert response.status_code == 201, response.text
