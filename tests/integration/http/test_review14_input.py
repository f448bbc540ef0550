"""Review of issue 14, findings 1, 2 and 9: bodies nested past any sane depth, cursors this
server never made, and NUL where PostgreSQL cannot take it answer 4xx, never a 500."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.sql.pagination import decode_cursor, decode_text_cursor, encode_cursor
from adapters.stripe_wire.signature import sign
from application.ports.repositories import InvalidCursor
from tests.support.app_client import AppClient
from tests.support.hard_edges import ADMIN, checkout_body, expect_problem, new_shop
from tests.support.http_app import BASE_URL, CONNECT_WEBHOOK_SECRET, build_test_app

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """A SQLite file or a PostgreSQL database of the test's own."""
    if request.param == "postgres":
        return str(request.getfixturevalue("migrated_postgres_url"))
    return None


@pytest.fixture
async def client(database_url: str | None, tmp_path: Path) -> AsyncIterator[Any]:
    app, _ = build_test_app(tmp_path, database_url)
    async with AppClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


def _nested(depth: int) -> bytes:
    return b'{"junk": ' + b"[" * depth + b"]" * depth + b"}"


# --- 1. Deeply nested JSON ---------------------------------------------------------------


async def test_a_deeply_nested_body_is_a_bad_request_on_every_json_route(client: Any) -> None:
    shop = await new_shop(client)
    json_type = {"content-type": "application/json"}
    for depth, (path, headers) in itertools.product(
        (40, 5_000, 200_000),
        (
            (f"/v1/public/{shop.slug}/checkout", json_type),
            ("/v1/admin/tenants", ADMIN | json_type),
            (f"/v1/tenant/offerings/{shop.offering_id}/slots", shop.tenant | json_type),
        ),
    ):
        response = await client.post(path, content=_nested(depth), headers=headers)
        body = expect_problem(response, 400)
        assert "nest" in body["detail"]


async def test_nesting_inside_strings_does_not_count(client: Any) -> None:
    shop = await new_shop(client)
    name = '[{"' * 400 + '\\"]'
    response = await client.post(
        f"/v1/public/{shop.slug}/checkout",
        json=checkout_body(shop, customer={"email": "a@example.com", "name": name[:200]}),
    )
    assert response.status_code == 201, response.text


# --- 2. Crafted cursors ------------------------------------------------------------------


def _forge(position: Any, ident: Any) -> str:
    raw = json.dumps([position, ident], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Refused by every list, whatever it is ordered by.
FORGED = [
    _forge("\x00", "x"),
    _forge("x", "\x00"),
    _forge("\udc80", "x"),
    _forge("a" * 300, "b"),
    _forge("a", 7),
    _forge(["a"], "b"),
    _forge("a", "b") + "==",
    # What this codec would make, spelt differently: spaces, padding.
    base64.urlsafe_b64encode(b'["a", "b"]').decode().rstrip("="),
    base64.urlsafe_b64encode(b"[" * 180 + b"]" * 180).decode(),
]
# Refused by the lists ordered by time; a text list may well hold such a name.
FORGED_MOMENTS = [
    _forge("2030-01-01T00:00:00+00:00", "\udc80"),
    _forge("0001-01-01T00:04:00+03:00", "bk_1"),
    _forge("9999-12-31T23:59:59-14:00", "bk_1"),
    _forge("2030-01-01T00:00:00", "bk_1"),
    _forge("2030-01-01T01:00:00+01:00", "bk_1"),
]


async def test_a_forged_cursor_is_a_bad_request_under_cursor_on_every_list(client: Any) -> None:
    shop = await new_shop(client)
    tenant_id = (await client.get("/v1/tenant", headers=shop.tenant)).json()["id"]
    by_text: list[tuple[str, dict[str, str], dict[str, str]]] = [
        (f"/v1/public/{shop.slug}/offerings", {}, {}),
        ("/v1/tenant/offerings", {}, shop.tenant),
        ("/v1/admin/tenants", {}, ADMIN),
    ]
    by_time = [
        (f"/v1/public/{shop.slug}/offerings/{shop.offering_id}/slots", {}, {}),
        ("/v1/tenant/bookings", {}, shop.tenant),
        ("/v1/admin/bookings", {"tenant_id": tenant_id}, ADMIN),
    ]
    cases = [(cursor, route) for cursor in FORGED for route in by_text + by_time]
    cases += [(cursor, route) for cursor in FORGED_MOMENTS for route in by_time]
    for cursor, (path, params, headers) in cases:
        response = await client.get(path, params=params | {"cursor": cursor}, headers=headers)
        body = expect_problem(response, 400)
        assert body["type"] == "urn:bookpay:problem:validation-failed", (path, cursor, body)
        assert [error["key"] for error in body["errors"]] == ["cursor"], (path, body)


def test_the_codec_takes_back_only_what_it_made() -> None:
    moment = datetime(2030, 1, 1, 9, 30, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, "bk_1")) == (moment, "bk_1")
    assert decode_text_cursor(encode_cursor("Yoga é", "of_1")) == ("Yoga é", "of_1")
    for forged in FORGED:
        with pytest.raises(InvalidCursor):
            decode_text_cursor(forged)
    for forged in FORGED + FORGED_MOMENTS:
        with pytest.raises(InvalidCursor):
            decode_cursor(forged)


# --- 9. The other 5xx --------------------------------------------------------------------


async def test_a_signed_webhook_with_nul_in_its_account_is_not_a_server_error(
    client: Any,
) -> None:
    event = {
        "id": "evt_nul_account",
        "object": "event",
        "type": "account.updated",
        "account": "acct_\x00",
        "created": int(datetime.now(UTC).timestamp()),
        "livemode": False,
        "data": {"object": {"id": "acct_\x00", "object": "account", "charges_enabled": True}},
    }
    payload = json.dumps(event).encode()
    response = await client.post(
        "/v1/webhooks/stripe/connect",
        content=payload,
        headers={"Stripe-Signature": sign(payload, CONNECT_WEBHOOK_SECRET, datetime.now(UTC))},
    )
    assert response.status_code < 500, response.text


async def test_the_fake_stripe_answers_bad_input_with_4xx(client: Any) -> None:
    response = await client.get("/fake-stripe/onboarding/acct_nobody")
    assert 400 <= response.status_code < 500, response.text
    shop = await new_shop(client)
    started = await client.post(f"/v1/public/{shop.slug}/checkout", json=checkout_body(shop))
    checkout_url = started.json()["checkout_url"]
    paid = await client.post(f"{checkout_url}/pay", data={"method": "zzz"})
    assert 400 <= paid.status_code < 500, paid.text
