"""Where Stripe sends a tenant back after onboarding (API.md: `{return_url?, refresh_url?}`):
the tenant's own page when it is on the return-URL allow-list, Bookpay's page otherwise
by default, and never a foreign host."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.http.conftest import Api
from tests.support.http_app import BASE_URL


async def _tenant_headers(api: Api) -> dict[str, str]:
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    created = await api.client.post(
        "/v1/admin/tenants",
        json={
            "name": "Studio",
            "slug": slug,
            "country": "US",
            "default_currency": "usd",
            "timezone": "UTC",
        },
        headers=api.admin(),
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['api_key']}"}


async def _finish_onboarding(api: Api, link_url: str) -> str:
    finished = await api.client.post(link_url, follow_redirects=False)
    assert finished.status_code == 303, finished.text
    return finished.headers["location"]


async def test_without_a_body_the_tenant_comes_back_to_bookpays_page(api: Api) -> None:
    headers = await _tenant_headers(api)

    link = await api.client.post("/v1/tenant/connect/onboarding-link", headers=headers)

    assert link.status_code == 200, link.text
    assert await _finish_onboarding(api, link.json()["url"]) == f"{BASE_URL}/onboarding/return"


async def test_the_tenant_comes_back_to_its_own_page_on_the_allow_list(api: Api) -> None:
    headers = await _tenant_headers(api)
    own_page = "https://testserver.local/settings/payments?done=1"

    link = await api.client.post(
        "/v1/tenant/connect/onboarding-link",
        json={"return_url": own_page, "refresh_url": "https://testserver.local/again"},
        headers=headers,
    )

    assert link.status_code == 200, link.text
    assert await _finish_onboarding(api, link.json()["url"]) == own_page


@pytest.mark.parametrize("field", ["return_url", "refresh_url"], ids=["return", "refresh"])
@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/phish",
        "https://testserver.local@evil.example/",
        "ftp://testserver.local/",
    ],
    ids=["foreign-host", "user-info", "not-https"],
)
async def test_a_page_off_the_allow_list_is_refused(api: Api, field: str, url: str) -> None:
    headers = await _tenant_headers(api)

    link = await api.client.post(
        "/v1/tenant/connect/onboarding-link", json={field: url}, headers=headers
    )

    assert link.status_code in (400, 422), link.text
    assert link.headers["content-type"].startswith("application/problem+json")
    assert "url" not in link.json() or link.json().get("url") is None


async def test_the_document_declares_the_optional_body(api: Api) -> None:
    document = (await api.client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/v1/tenant/connect/onboarding-link"]["post"]

    body = operation["requestBody"]
    assert body.get("required") is not True
    schema = body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    elif "oneOf" in schema or "anyOf" in schema:
        options = schema.get("oneOf") or schema.get("anyOf")
        ref = next(option["$ref"] for option in options if "$ref" in option)
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema["properties"]) == {"return_url", "refresh_url"}


async def test_a_null_body_is_refused_like_any_body_that_is_not_an_object(api: Api) -> None:
    headers = await _tenant_headers(api)

    link = await api.client.post(
        "/v1/tenant/connect/onboarding-link",
        content=b"null",
        headers={**headers, "Content-Type": "application/json"},
    )

    assert link.status_code in (400, 422), link.text
    assert link.headers["content-type"].startswith("application/problem+json")
