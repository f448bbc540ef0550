"""Review of issue 14, finding 10: what the server sends matches what its document says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.app_client import AppClient
from tests.support.hard_edges import Edge, expect_problem, new_shop
from tests.support.http_app import BASE_URL, build_test_app


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Edge]:
    app, container = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield Edge(client, container)


async def _document(edge: Edge) -> dict[str, Any]:
    response = await edge.client.get("/schema/openapi.json")
    document: dict[str, Any] = response.json()
    return document


async def test_the_statement_csv_has_one_charset_and_its_documented_columns(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    csv = await edge.client.get(
        "/v1/tenant/statement", params={"format": "csv"}, headers=shop.tenant
    )
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].lower().count("charset") == 1, csv.headers
    columns = csv.text.splitlines()[0].split(",")
    document = await _document(edge)
    described = document["paths"]["/v1/tenant/statement"]["get"]["responses"]["200"]["content"][
        "text/csv"
    ]["schema"]["description"]
    for column in columns:
        assert column in described, column


async def test_a_bad_format_is_reported_under_format(edge: Edge) -> None:
    shop = await new_shop(edge.client)
    body = expect_problem(
        await edge.client.get(
            "/v1/tenant/statement", params={"format": "xml"}, headers=shop.tenant
        ),
        400,
    )
    assert [error["key"] for error in body["errors"]] == ["format"], body


@pytest.mark.parametrize("moment", ["20310602T000000Z", "2031-W23-1T00:00Z", "2031-06-02 00:00Z"])
async def test_from_and_to_take_rfc_3339_only(edge: Edge, moment: str) -> None:
    shop = await new_shop(edge.client)
    for name in ("from", "to"):
        body = expect_problem(
            await edge.client.get(
                "/v1/tenant/bookings", params={name: moment}, headers=shop.tenant
            ),
            400,
        )
        assert [error["key"] for error in body["errors"]] == [name], body
    fine = await edge.client.get(
        "/v1/tenant/bookings", params={"from": "2031-06-02T00:00:00.5+02:00"}, headers=shop.tenant
    )
    assert fine.status_code == 200, fine.text


async def test_optional_bodies_are_documented_and_accepted_as_optional(edge: Edge) -> None:
    document = await _document(edge)
    paths = document["paths"]
    assert not paths["/v1/tenant/slots/{slot_id}/cancel"]["post"]["requestBody"].get("required")
    refund = paths["/fake-stripe/payments/{payment_intent_id}/refund"]["post"]
    assert not refund["requestBody"].get("required")
    shop = await new_shop(edge.client)
    cancelled = await edge.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel", headers=shop.tenant
    )
    assert cancelled.status_code == 200, cancelled.text
    # Without a body the fake refund goes on to look for the payment (there is none).
    expect_problem(await edge.client.post("/fake-stripe/payments/pi_nobody/refund"), 404)


async def test_the_public_booking_routes_declare_the_bearer_token(edge: Edge) -> None:
    document = await _document(edge)
    schemes = document["components"]["securitySchemes"]
    for path, method in (
        ("/v1/public/bookings/{booking_id}", "get"),
        ("/v1/public/bookings/{booking_id}/cancel", "post"),
        ("/v1/public/bookings/{booking_id}/checkout-left", "get"),
    ):
        security = document["paths"][path][method].get("security")
        assert security, path
        names = {name for requirement in security for name in requirement}
        assert any(schemes[name].get("scheme") == "bearer" for name in names), path
