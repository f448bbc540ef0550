"""Events out over HTTP after the second review (issue 17): a URL carrying control
characters or whitespace is refused with a problem at registration and on change, and an
owner's endpoints are capped (a problem, not a 500, when the cap is reached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app
from tests.support.http_flows import open_shop

pytestmark = pytest.mark.webhooks
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ENDPOINTS = "/v1/admin/webhook-endpoints"
UNSENDABLE = [
    "https://hooks.example.com/a\r\nX-Injected: 1",
    "https://exa\tmple.com/",
    "https://hooks.example.com/a b",
    "https://hooks.example.com/\x1b[31m",
    "https://hooks.example.com/\x7f",
]


def _is_problem(answer: object, status: int) -> None:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    content_type = answer.headers["content-type"]  # type: ignore[attr-defined]
    assert content_type.startswith("application/problem+json")
    assert answer.json()["detail"]  # type: ignore[attr-defined]


async def test_a_url_with_control_characters_is_refused_at_registration_and_on_change(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, outbound_poll_seconds=0)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        for url in UNSENDABLE:
            _is_problem(await client.post(ENDPOINTS, json={"url": url}, headers=ADMIN), 422)
            tenant_route = "/v1/tenant/webhook-endpoints"
            _is_problem(
                await client.post(tenant_route, json={"url": url}, headers=shop.tenant), 422
            )
        created = await client.post(
            ENDPOINTS, json={"url": "https://hooks.example.com/ok"}, headers=ADMIN
        )
        assert created.status_code == 201, created.text
        one = f"{ENDPOINTS}/{created.json()['id']}"
        for url in UNSENDABLE:
            _is_problem(await client.patch(one, json={"url": url}, headers=ADMIN), 422)
        kept = await client.get(one, headers=ADMIN)
        assert kept.json()["url"] == "https://hooks.example.com/ok"
        listed = await client.get(ENDPOINTS, headers=ADMIN)
        assert [e["url"] for e in listed.json()["data"]] == ["https://hooks.example.com/ok"]


async def test_an_owner_reaching_its_endpoint_cap_gets_a_conflict(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path, outbound_poll_seconds=0, outbound_max_endpoints_per_owner=2)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        tenant_route = "/v1/tenant/webhook-endpoints"
        ids = []
        for i in range(2):
            created = await client.post(
                tenant_route, json={"url": f"https://t{i}.example.com/"}, headers=shop.tenant
            )
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        third = {"url": "https://t2.example.com/"}
        refused = await client.post(tenant_route, json=third, headers=shop.tenant)
        _is_problem(refused, 409)
        assert refused.json()["type"] == "urn:bookpay:problem:too-many-endpoints"
        assert "at most 2" in refused.json()["detail"]
        # The platform's cap is its own, and deleting an endpoint makes room.
        for i in range(2):
            created = await client.post(
                ENDPOINTS, json={"url": f"https://p{i}.example.com/"}, headers=ADMIN
            )
            assert created.status_code == 201, created.text
        _is_problem(await client.post(ENDPOINTS, json=third, headers=ADMIN), 409)
        gone = await client.delete(f"{tenant_route}/{ids[0]}", headers=shop.tenant)
        assert gone.status_code == 204
        again = await client.post(tenant_route, json=third, headers=shop.tenant)
        assert again.status_code == 201, again.text
