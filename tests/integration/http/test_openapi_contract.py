"""The served OpenAPI document says what the server does (issue 15, "What was seen" 1)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.integration.http.conftest import Api
from tests.support.http_flows import paid_booking

PROBLEM = "application/problem+json"


@pytest.fixture
async def document(api: Api) -> dict[str, Any]:
    response = await api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def test_the_served_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_operations_have_names_a_client_can_use(document: dict[str, Any]) -> None:
    ids = {(m, p): op["operationId"] for m, p, op in _operations(document)}
    assert ids[("post", "/v1/public/{tenant_slug}/checkout")] == "createCheckout"
    assert ids[("post", "/v1/tenant/bookings/{booking_id}/refunds")] == "refundBooking"
    assert ids[("post", "/v1/tenant/bookings/{booking_id}/cancel")] == "cancelBooking"
    assert ids[("post", "/v1/admin/tenants")] == "createTenant"
    assert ids[("get", "/v1/tenant/statement")] == "getStatement"
    assert ids[("get", "/v1/public/{tenant_slug}/fee-quote")] == "getPublicFeeQuote"
    assert ids[("post", "/v1/webhooks/stripe")] == "receiveStripeEvent"
    for operation_id in ids.values():
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", operation_id), operation_id
    assert len(set(ids.values())) == len(ids)


# Routes only a browser is sent to (the checkout's Cancel): their refusals are HTML pages in
# words, not problem details (issue 16).
BROWSER_ROUTES = {"leaveCheckout"}


def test_every_api_route_declares_its_problems(document: dict[str, Any]) -> None:
    for _method, path, operation in _operations(document):
        if not path.startswith("/v1/"):
            continue
        problems = {
            status: response
            for status, response in operation["responses"].items()
            if int(status) >= 400
        }
        assert "400" in problems, path
        media_type = "text/html" if operation["operationId"] in BROWSER_ROUTES else PROBLEM
        for status, response in problems.items():
            assert media_type in response["content"], (path, status)
        if path.startswith(("/v1/admin", "/v1/tenant")):
            assert "401" in problems, path


def test_a_fee_quote_declares_its_not_found_and_unchargeable_answers(
    document: dict[str, Any],
) -> None:
    for path in ("/v1/tenant/fee-quote", "/v1/public/{tenant_slug}/fee-quote"):
        responses = document["paths"][path]["get"]["responses"]
        assert {"404", "422"} <= set(responses), path


def test_closed_sets_of_values_are_enums(document: dict[str, Any]) -> None:
    booking_status = _schema(document, "BookingStatus")["enum"]
    assert {"pending_payment", "confirmed", "cancelled", "expired"} <= set(booking_status)
    assert set(_schema(document, "ChargeModel")["enum"]) == {"destination", "direct"}
    assert set(_schema(document, "FeeBearer")["enum"]) == {"customer", "tenant"}
    assert {"charge", "application_fee", "refund", "application_fee_refund"} <= set(
        _schema(document, "EntryKind")["enum"]
    )
    booking = _schema(document, "TenantBooking")["properties"]
    assert booking["status"] == {"$ref": "#/components/schemas/BookingStatus"}
    ledger = _schema(document, "LedgerEntry")["properties"]
    assert ledger["kind"] == {"$ref": "#/components/schemas/EntryKind"}
    bearer = _schema(document, "FeePolicy")["properties"]["bearer"]["oneOf"]
    assert {"$ref": "#/components/schemas/FeeBearer"} in bearer


def test_money_that_can_be_negative_says_so(document: dict[str, Any]) -> None:
    assert _schema(document, "Money")["properties"]["amount"]["minimum"] == 0
    signed = _schema(document, "SignedMoney")["properties"]["amount"]
    assert signed["minimum"] < 0
    net = _schema(document, "StatementLine")["properties"]["net"]
    assert net == {"$ref": "#/components/schemas/SignedMoney"}


def test_the_statement_is_typed_in_json_and_declared_in_csv(document: dict[str, Any]) -> None:
    ok = document["paths"]["/v1/tenant/statement"]["get"]["responses"]["200"]["content"]
    assert ok["application/json"]["schema"] == {"$ref": "#/components/schemas/Statement"}
    assert ok["text/csv"]["schema"]["type"] == "string"


def test_webhooks_declare_their_body_and_signature(document: dict[str, Any]) -> None:
    for path in ("/v1/webhooks/stripe", "/v1/webhooks/stripe/connect"):
        operation = document["paths"][path]["post"]
        assert operation["requestBody"]["required"] is True
        assert "application/json" in operation["requestBody"]["content"]
        (signature,) = [p for p in operation["parameters"] if p["name"] == "Stripe-Signature"]
        assert signature["in"] == "header"
        assert signature["required"] is True


def test_cancel_and_refund_bodies_are_optional(document: dict[str, Any]) -> None:
    for path in ("cancel", "refunds"):
        operation = document["paths"][f"/v1/tenant/bookings/{{booking_id}}/{path}"]["post"]
        assert operation["requestBody"]["required"] is False, path


def test_lists_declare_limit_and_cursor(document: dict[str, Any]) -> None:
    for path in (
        "/v1/admin/tenants",
        "/v1/tenant/offerings",
        "/v1/tenant/bookings",
        "/v1/public/{tenant_slug}/offerings",
        "/v1/public/{tenant_slug}/offerings/{offering_id}/slots",
    ):
        names = {p["name"] for p in document["paths"][path]["get"]["parameters"]}
        assert {"limit", "cursor"} <= names, path


async def test_every_201_that_promises_a_location_sends_it(
    api: Api, document: dict[str, Any]
) -> None:
    promised = {
        path
        for method, path, operation in _operations(document)
        if method == "post"
        and "Location" in operation["responses"].get("201", {}).get("headers", {})
    }
    assert {
        "/v1/admin/tenants",
        "/v1/tenant/offerings",
        "/v1/public/{tenant_slug}/checkout",
        "/v1/tenant/bookings/{booking_id}/refunds",
    } <= promised
    assert "/v1/tenant/offerings/{offering_id}/slots" not in promised
    tenant, booking_id = await paid_booking(api.client)
    refund = await api.client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds",
        json={"amount": {"amount": 100, "currency": "usd"}},
        headers=tenant,
    )
    assert refund.status_code == 201
    assert refund.headers["location"] == f"/v1/tenant/bookings/{booking_id}"
    assert (await api.client.get(refund.headers["location"], headers=tenant)).status_code == 200
    offering = await api.client.post(
        "/v1/tenant/offerings",
        json={
            "name": "Located",
            "price": {"amount": 2000, "currency": "usd"},
            "duration_minutes": 60,
            "capacity": 5,
        },
        headers=tenant,
    )
    assert offering.headers["location"] == f"/v1/tenant/offerings/{offering.json()['id']}"
    assert (await api.client.get(offering.headers["location"], headers=tenant)).status_code == 200


async def test_an_empty_body_cancels_and_refunds(api: Api) -> None:
    tenant, booking_id = await paid_booking(api.client)
    refunded = await api.client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds", content=b"", headers=tenant
    )
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["refunded"]["amount"] == 4230


@pytest.mark.parametrize("name", ["from", "to"])
async def test_a_bad_time_window_is_reported_under_its_own_name(api: Api, name: str) -> None:
    tenant, _ = await paid_booking(api.client)
    for path in ("/v1/tenant/bookings", "/v1/tenant/statement"):
        response = await api.client.get(f"{path}?{name}=yesterday", headers=tenant)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert [e["key"] for e in response.json()["errors"]] == [name]
