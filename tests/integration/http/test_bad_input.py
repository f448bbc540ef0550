"""Bad input on every write route answers 4xx problem details, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.http.conftest import Api

PROBLEM = "application/problem+json"
TENANT = {
    "name": "Studio",
    "slug": "studio",
    "country": "US",
    "default_currency": "usd",
    "timezone": "UTC",
}
OFFERING = {
    "name": "Class",
    "price": {"amount": 2000, "currency": "usd"},
    "duration_minutes": 60,
    "capacity": 5,
}


async def _tenant_key(api: Api) -> str:
    response = await api.client.post("/v1/admin/tenants", json=TENANT, headers=api.admin())
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        ({**TENANT, "name": 7}, 400),
        ({**TENANT, "slug": "Not A Slug!"}, 400),
        ({**TENANT, "default_currency": "xyz"}, 422),
        ({**TENANT, "default_currency": "dollars"}, 400),
        ({**TENANT, "fee_policy": {"percent_bps": -1}}, 400),
        ({**TENANT, "fee_policy": {"percent_bps": 10**12}}, 400),
        ({**TENANT, "fee_policy": {"fixed": {"amount": 5, "currency": "kwd"}}}, 422),
        ({**TENANT, "fee_policy": {"bearer": "nobody"}}, 400),
        ({**TENANT, "unexpected": True}, 400),
        ({k: v for k, v in TENANT.items() if k != "slug"}, 400),
    ],
)
async def test_creating_a_tenant_with_bad_input(api: Api, body: Any, status: int) -> None:
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = await api.client.post(
        "/v1/admin/tenants",
        headers={**api.admin(), "content-type": "application/json"},
        **kwargs,
    )
    _assert_problem(response, status)


async def test_validation_problems_name_the_field(api: Api) -> None:
    response = await api.client.post(
        "/v1/admin/tenants", json={**TENANT, "name": 7}, headers=api.admin()
    )
    body = _assert_problem(response, 400)
    assert body["errors"], body


async def test_a_duplicate_slug_is_a_conflict(api: Api) -> None:
    await _tenant_key(api)
    response = await api.client.post("/v1/admin/tenants", json=TENANT, headers=api.admin())
    _assert_problem(response, 409)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[", 400),
        ({**OFFERING, "price": {"amount": -100, "currency": "usd"}}, 400),
        ({**OFFERING, "price": {"amount": 10**15, "currency": "usd"}}, 400),
        ({**OFFERING, "price": {"amount": "20.00", "currency": "usd"}}, 400),
        ({**OFFERING, "price": {"amount": 19.99, "currency": "usd"}}, 400),
        ({**OFFERING, "price": {"amount": 2000, "currency": "abc"}}, 422),
        ({**OFFERING, "price": {"amount": 0, "currency": "usd"}}, 422),
        ({**OFFERING, "price": {"amount": 1005, "currency": "kwd"}}, 422),
        ({**OFFERING, "capacity": 0}, 400),
        ({**OFFERING, "capacity": 10**9}, 400),
        ({**OFFERING, "duration_minutes": -5}, 400),
        (
            {
                **OFFERING,
                "cancellation_policy": {"windows": [{"hours_before": 2, "refund_percent": 101}]},
            },
            400,
        ),
    ],
)
async def test_creating_an_offering_with_bad_input(api: Api, body: Any, status: int) -> None:
    key = await _tenant_key(api)
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = await api.client.post(
        "/v1/tenant/offerings",
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
        **kwargs,
    )
    _assert_problem(response, status)


async def test_unknown_ids_answer_404(api: Api) -> None:
    key = await _tenant_key(api)
    auth = {"Authorization": f"Bearer {key}"}
    for method, path, body in [
        ("GET", "/v1/tenant/offerings/of_nope", None),
        ("PATCH", "/v1/tenant/offerings/of_nope", {"name": "x"}),
        ("DELETE", "/v1/tenant/offerings/of_nope", None),
        ("POST", "/v1/tenant/offerings/of_nope/slots", {"starts_at": "2099-01-01T10:00:00Z"}),
        ("GET", "/v1/tenant/bookings/bk_nope", None),
        ("POST", "/v1/tenant/bookings/bk_nope/cancel", {}),
        ("POST", "/v1/tenant/bookings/bk_nope/refunds", {}),
        ("GET", "/v1/tenant/fee-quote?offering_id=of_nope&seats=1", None),
    ]:
        response = await api.client.request(method, path, json=body, headers=auth)
        _assert_problem(response, 404)
    response = await api.client.get("/v1/admin/tenants/tn_nope", headers=api.admin())
    _assert_problem(response, 404)
    response = await api.client.post(
        "/v1/public/no-such-studio/checkout",
        json={"slot_id": "sl_x", "seats": 1, "customer": {"email": "a@example.com"}},
    )
    _assert_problem(response, 404)


async def test_bad_slots_and_checkouts(api: Api) -> None:
    key = await _tenant_key(api)
    auth = {"Authorization": f"Bearer {key}"}
    offering = (await api.client.post("/v1/tenant/offerings", json=OFFERING, headers=auth)).json()
    path = f"/v1/tenant/offerings/{offering['id']}/slots"
    _assert_problem(await api.client.post(path, json={}, headers=auth), 422)
    _assert_problem(
        await api.client.post(path, json={"starts_at": "2001-01-01T10:00:00Z"}, headers=auth), 422
    )
    _assert_problem(
        await api.client.post(path, json={"starts_at": "not a time"}, headers=auth), 400
    )
    _assert_problem(
        await api.client.post(path, json={"starts_at": "2099-01-01T10:00:00"}, headers=auth), 422
    )
    checkout = {"slot_id": "sl_x", "seats": 1, "customer": {"email": "a@example.com"}}
    # The tenant has not onboarded with Stripe: it cannot take charges yet.
    _assert_problem(await api.client.post("/v1/public/studio/checkout", json=checkout), 422)
    for bad in (
        {**checkout, "seats": 0},
        {**checkout, "seats": -1},
        {**checkout, "seats": 10**6},
        {**checkout, "customer": {"email": "not an email"}},
        {**checkout, "success_url": "javascript:alert(1)"},
    ):
        _assert_problem(await api.client.post("/v1/public/studio/checkout", json=bad), 400)


async def test_unauthenticated_and_wrong_methods(api: Api) -> None:
    _assert_problem(await api.client.get("/v1/admin/tenants"), 401)
    _assert_problem(
        await api.client.get("/v1/admin/tenants", headers={"Authorization": "Bearer nope"}), 401
    )
    _assert_problem(await api.client.get("/v1/tenant"), 401)
    _assert_problem(await api.client.put("/health/live"), 405)
    _assert_problem(await api.client.get("/v1/nothing-here"), 404)


async def test_a_webhook_with_a_bad_signature_is_refused(api: Api) -> None:
    for path in ("/v1/webhooks/stripe", "/v1/webhooks/stripe/connect"):
        response = await api.client.post(
            path,
            content=b'{"id": "evt_1", "type": "checkout.session.completed"}',
            headers={"Stripe-Signature": "t=1,v1=deadbeef"},
        )
        _assert_problem(response, 400)
        unsigned = await api.client.post(path, content=b"{}")
        _assert_problem(unsigned, 400)


async def test_an_idempotency_key_replays_the_first_creation(api: Api) -> None:
    headers = {**api.admin(), "Idempotency-Key": "create-studio-1"}
    first = await api.client.post("/v1/admin/tenants", json=TENANT, headers=headers)
    again = await api.client.post("/v1/admin/tenants", json=TENANT, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listed = await api.client.get("/v1/admin/tenants", headers=api.admin())
    assert len(listed.json()["data"]) == 1
    other = await api.client.post(
        "/v1/admin/tenants", json={**TENANT, "slug": "other"}, headers=headers
    )
    _assert_problem(other, 409)


async def test_bad_fee_policies_and_offering_changes(api: Api) -> None:
    created = await api.client.post("/v1/admin/tenants", json=TENANT, headers=api.admin())
    tenant_id = created.json()["tenant"]["id"]
    auth = {"Authorization": f"Bearer {created.json()['api_key']}"}
    path = f"/v1/admin/tenants/{tenant_id}/fee-policy"
    for body, status in [
        (b"{", 400),
        ({"percent_bps": "5%"}, 400),
        ({"percent_bps": 10_001}, 400),
        (
            {"min": {"amount": 500, "currency": "usd"}, "max": {"amount": 100, "currency": "usd"}},
            422,
        ),
        (
            {"fixed": {"amount": 30, "currency": "usd"}, "max": {"amount": 100, "currency": "eur"}},
            422,
        ),
        ({"tiers": [{"up_to": None, "percent_bps": 100}, {"up_to": None}]}, 422),
        ({"bearer": {"customer_share_bps": 20_000}}, 400),
        ({"refund_on_cancel": "sometimes"}, 400),
    ]:
        kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
        response = await api.client.put(
            path, headers={**api.admin(), "content-type": "application/json"}, **kwargs
        )
        _assert_problem(response, status)
    good = await api.client.put(path, json={"percent_bps": 250}, headers=api.admin())
    assert good.status_code == 200
    assert good.json()["version"] == 2

    offering = (await api.client.post("/v1/tenant/offerings", json=OFFERING, headers=auth)).json()
    patch = f"/v1/tenant/offerings/{offering['id']}"
    for change, status in [
        ({"price": {"amount": -1, "currency": "usd"}}, 400),
        ({"capacity": "many"}, 400),
        ({"name": ""}, 400),
        ({"archived": True}, 400),
        ({"price": {"amount": 100, "currency": "zzz"}}, 422),
    ]:
        _assert_problem(await api.client.patch(patch, json=change, headers=auth), status)
    renamed = await api.client.patch(patch, json={"name": "Evening class"}, headers=auth)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Evening class"
    assert renamed.json()["price"] == OFFERING["price"]


async def test_an_offering_its_fee_policy_cannot_price_is_refused_up_front(api: Api) -> None:
    body = {**TENANT, "fee_policy": {"fixed": {"amount": 30, "currency": "usd"}}}
    created = await api.client.post("/v1/admin/tenants", json=body, headers=api.admin())
    auth = {"Authorization": f"Bearer {created.json()['api_key']}"}
    in_euros = {**OFFERING, "price": {"amount": 2000, "currency": "eur"}}
    problem = _assert_problem(
        await api.client.post("/v1/tenant/offerings", json=in_euros, headers=auth), 422
    )
    assert problem["type"].endswith("offerings-not-quotable")
    assert "eur" in problem["detail"]
