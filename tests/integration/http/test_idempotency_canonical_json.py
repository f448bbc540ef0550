"""Issue 14 (brief "edges", item 2): an Idempotency-Key retry is recognised by what its JSON
body says, not by how it is spelled. The same JSON with other spacing, key order or string
escapes is the same request (replayed); a different value is another request (409)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.app_client import AppClient
from tests.support.hard_edges import Edge, checkout_body, expect_problem, new_shop
from tests.support.http_app import BASE_URL, build_test_app


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Edge]:
    app, container = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Edge(client, container)


async def _checkout(edge: Edge, slug: str, key: str, content: bytes) -> Any:
    return await edge.client.post(
        f"/v1/public/{slug}/checkout",
        content=content,
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )


async def test_the_same_json_spelled_differently_is_replayed(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    body = checkout_body(shop, customer={"email": "a@example.com", "name": "Zoë"})
    key = str(uuid.uuid4())
    first = await _checkout(edge, shop.slug, key, json.dumps(body).encode())
    assert first.status_code == 201, first.text

    reordered = dict(reversed(list(body.items())))
    for spelling in (
        json.dumps(body, separators=(",", ":")),  # no whitespace
        json.dumps(reordered, indent=4),  # other key order, other spacing
        "\n " + json.dumps(body, ensure_ascii=False) + "\r\n",  # é unescaped, padding
    ):
        again = await _checkout(edge, shop.slug, key, spelling.encode())
        assert again.status_code == 201, (spelling, again.text)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()


async def test_a_different_value_still_conflicts(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    key = str(uuid.uuid4())
    body = checkout_body(shop)
    first = await _checkout(edge, shop.slug, key, json.dumps(body).encode())
    assert first.status_code == 201, first.text
    for other in (
        body | {"seats": 2},
        body | {"customer": {"email": "b@example.com"}},
        body | {"seats": "1"},  # a string is not the number it spells
    ):
        expect_problem(await _checkout(edge, shop.slug, key, json.dumps(other).encode()), 409)
