"""The OpenAPI document describes every route of API.md, with its problem responses."""

from __future__ import annotations

from tests.integration.http.conftest import Api

API_MD_ROUTES = {
    ("post", "/v1/admin/tenants"),
    ("get", "/v1/admin/tenants"),
    ("get", "/v1/admin/tenants/{tenant_id}"),
    ("put", "/v1/admin/tenants/{tenant_id}/fee-policy"),
    ("get", "/v1/admin/reports/fees"),
    ("get", "/v1/tenant"),
    ("post", "/v1/tenant/connect/onboarding-link"),
    ("get", "/v1/tenant/connect/status"),
    ("post", "/v1/tenant/offerings"),
    ("get", "/v1/tenant/offerings"),
    ("get", "/v1/tenant/offerings/{offering_id}"),
    ("patch", "/v1/tenant/offerings/{offering_id}"),
    ("delete", "/v1/tenant/offerings/{offering_id}"),
    ("post", "/v1/tenant/offerings/{offering_id}/slots"),
    ("get", "/v1/tenant/bookings"),
    ("get", "/v1/tenant/bookings/{booking_id}"),
    ("post", "/v1/tenant/bookings/{booking_id}/cancel"),
    ("post", "/v1/tenant/bookings/{booking_id}/refunds"),
    ("get", "/v1/tenant/fee-quote"),
    ("get", "/v1/tenant/statement"),
    ("get", "/v1/public/{tenant_slug}/offerings"),
    ("get", "/v1/public/{tenant_slug}/offerings/{offering_id}/slots"),
    ("post", "/v1/public/{tenant_slug}/checkout"),
    ("get", "/v1/public/bookings/{booking_id}"),
    ("post", "/v1/public/bookings/{booking_id}/cancel"),
    ("post", "/v1/webhooks/stripe"),
    ("post", "/v1/webhooks/stripe/connect"),
    ("get", "/fake-stripe/checkout/{session_id}"),
    ("post", "/fake-stripe/checkout/{session_id}/pay"),
    ("post", "/fake-stripe/checkout/{session_id}/decline"),
    ("get", "/fake-stripe/onboarding/{account_id}"),
    ("post", "/fake-stripe/onboarding/{account_id}"),
    ("get", "/fake-stripe/events"),
    ("post", "/fake-stripe/events/{event_id}/resend"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
}


async def test_every_route_of_the_contract_is_documented(api: Api) -> None:
    response = await api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    documented = {
        (method, path.rstrip("/") or "/") for path, item in paths.items() for method in item
    }
    assert API_MD_ROUTES - documented == set()


async def test_errors_are_documented_as_problem_details(api: Api) -> None:
    paths = (await api.client.get("/schema/openapi.json")).json()["paths"]
    checkout = paths["/v1/public/{tenant_slug}/checkout"]["post"]["responses"]
    for status in ("400", "404", "409", "422"):
        assert "application/problem+json" in checkout[status]["content"], status
    assert "401" in paths["/v1/tenant/offerings"]["post"]["responses"]


async def test_interactive_docs_are_served(api: Api) -> None:
    response = await api.client.get("/schema")
    assert response.status_code == 200
    assert "html" in response.headers["content-type"]
