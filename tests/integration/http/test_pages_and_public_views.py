"""Keyset pages on every list, the customer's side only in public views, the public fee
quote and CSV statements in major units (issue 15)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from entrypoints.http.mapping import major_units
from entrypoints.http.schemas import SignedMoney
from tests.integration.http.conftest import Api
from tests.support.http_flows import paid_booking


async def _tenant(api: Api, bearer: str = "customer") -> tuple[str, dict[str, str]]:
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    created = await api.client.post(
        "/v1/admin/tenants",
        json={
            "name": "Studio",
            "slug": slug,
            "country": "US",
            "default_currency": "usd",
            "timezone": "UTC",
            "fee_policy": {
                "percent_bps": 500,
                "fixed": {"amount": 30, "currency": "usd"},
                "bearer": bearer,
            },
        },
        headers=api.admin(),
    )
    assert created.status_code == 201, created.text
    headers = {"Authorization": f"Bearer {created.json()['api_key']}"}
    link = await api.client.post("/v1/tenant/connect/onboarding-link", headers=headers)
    assert (await api.client.post(link.json()["url"], follow_redirects=False)).status_code == 303
    return slug, headers


async def _offering(api: Api, headers: dict[str, str], name: str) -> str:
    created = await api.client.post(
        "/v1/tenant/offerings",
        json={
            "name": name,
            "price": {"amount": 2000, "currency": "usd"},
            "duration_minutes": 60,
            "capacity": 5,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    ident: str = created.json()["id"]
    return ident


async def _all_pages(api: Api, path: str, limit: int, **kw: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await api.client.get(path, params=params, **kw)
        assert response.status_code == 200, response.text
        pages.append(response.json()["data"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


async def test_offering_lists_honour_limit_and_cursor(api: Api) -> None:
    slug, headers = await _tenant(api)
    names = ["Yoga", "Barre", "Pilates", "Spin", "Boxing"]
    for name in names:
        await _offering(api, headers, name)
    tenant_pages = await _all_pages(api, "/v1/tenant/offerings", 2, headers=headers)
    public_pages = await _all_pages(api, f"/v1/public/{slug}/offerings", 2)
    for pages in (tenant_pages, public_pages):
        assert [len(p) for p in pages] == [2, 2, 1]
        assert [o["name"] for p in pages for o in p] == sorted(names)


async def test_public_slots_come_in_pages_not_in_one_answer(api: Api) -> None:
    slug, headers = await _tenant(api)
    offering_id = await _offering(api, headers, "Class")
    first = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    starts = [first + timedelta(hours=hour) for hour in range(7)]
    added = await api.client.post(
        f"/v1/tenant/offerings/{offering_id}/slots",
        json={"slots": [{"starts_at": s.isoformat()} for s in starts]},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    path = f"/v1/public/{slug}/offerings/{offering_id}/slots"
    default = await api.client.get(path)
    assert len(default.json()["data"]) == 7
    assert default.json()["next_cursor"] is None
    pages = await _all_pages(api, path, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [datetime.fromisoformat(s["starts_at"]) for p in pages for s in p]
    assert seen == starts
    too_many = await api.client.get(path, params={"limit": 201})
    assert too_many.status_code == 400


@pytest.mark.parametrize(
    "path", ["/v1/tenant/offerings", "/v1/tenant/bookings", "/v1/admin/tenants"]
)
async def test_a_forged_cursor_is_a_bad_request(api: Api, path: str) -> None:
    _, headers = await _tenant(api)
    auth = api.admin() if path.startswith("/v1/admin") else headers
    response = await api.client.get(path, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=auth)
    assert response.status_code == 400, response.text
    assert [e["key"] for e in response.json()["errors"]] == ["cursor"]


async def test_admin_tenant_pages_use_the_same_cursor(api: Api) -> None:
    for _ in range(3):
        await _tenant(api)
    pages = await _all_pages(api, "/v1/admin/tenants", 2, headers=api.admin())
    ids = [t["id"] for p in pages for t in p]
    assert len(ids) == len(set(ids)) >= 3
    assert ids == sorted(ids)


async def test_the_public_offering_list_shows_no_fee_policy(api: Api) -> None:
    slug, headers = await _tenant(api)
    offering_id = await _offering(api, headers, "Class")
    override = await api.client.put(
        f"/v1/admin/tenants/{(await api.client.get('/v1/tenant', headers=headers)).json()['id']}"
        "/fee-policy",
        json={"percent_bps": 700},
        headers=api.admin(),
    )
    assert override.status_code == 200
    (offering,) = (await api.client.get(f"/v1/public/{slug}/offerings")).json()["data"]
    assert offering["id"] == offering_id
    assert "fee_policy" not in offering
    assert offering["price"] == {"amount": 2000, "currency": "usd"}


async def test_public_bookings_show_the_customers_side_only(api: Api) -> None:
    tenant, booking_id = await paid_booking(api.client)
    full = (await api.client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    assert full["quote"]["application_fee"]["amount"] == 230
    token = await _token_of_a_new_checkout(api)
    public = await api.client.get(f"/v1/public/bookings/{token[0]}", params={"token": token[1]})
    assert public.status_code == 200, public.text
    quote = public.json()["quote"]
    assert set(quote) == {"subtotal", "service_fee", "customer_total"}
    assert quote == {
        "subtotal": {"amount": 4000, "currency": "usd"},
        "service_fee": {"amount": 230, "currency": "usd"},
        "customer_total": {"amount": 4230, "currency": "usd"},
    }
    assert "application_fee" not in str(public.json())
    assert "tenant_receives" not in str(public.json())


async def _token_of_a_new_checkout(api: Api) -> tuple[str, str]:
    slug, headers = await _tenant(api)
    offering_id = await _offering(api, headers, "Class")
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    slots = await api.client.post(
        f"/v1/tenant/offerings/{offering_id}/slots",
        json={"starts_at": starts.isoformat()},
        headers=headers,
    )
    checkout = await api.client.post(
        f"/v1/public/{slug}/checkout",
        json={
            "slot_id": slots.json()["data"][0]["id"],
            "seats": 2,
            "customer": {"email": "ada@example.com"},
        },
    )
    assert checkout.status_code == 201, checkout.text
    body = checkout.json()
    assert set(body["quote"]) == {"subtotal", "service_fee", "customer_total"}
    assert checkout.headers["location"] == f"/v1/public/bookings/{body['booking_id']}"
    return body["booking_id"], body["booking_token"]


@pytest.mark.parametrize(
    ("bearer", "service_fee", "total"), [("customer", 230, 4230), ("tenant", 0, 4000)]
)
async def test_the_public_fee_quote_gives_what_the_customer_pays(
    api: Api, bearer: str, service_fee: int, total: int
) -> None:
    slug, headers = await _tenant(api, bearer)
    offering_id = await _offering(api, headers, "Class")
    quote = await api.client.get(
        f"/v1/public/{slug}/fee-quote", params={"offering_id": offering_id, "seats": 2}
    )
    assert quote.status_code == 200, quote.text
    assert quote.json() == {
        "subtotal": {"amount": 4000, "currency": "usd"},
        "service_fee": {"amount": service_fee, "currency": "usd"},
        "customer_total": {"amount": total, "currency": "usd"},
    }


async def test_the_public_fee_quote_knows_only_sellable_offerings(api: Api) -> None:
    slug, headers = await _tenant(api)
    offering_id = await _offering(api, headers, "Class")
    path = f"/v1/public/{slug}/fee-quote"
    assert (
        await api.client.delete(f"/v1/tenant/offerings/{offering_id}", headers=headers)
    ).is_success
    archived = await api.client.get(path, params={"offering_id": offering_id})
    assert archived.status_code == 404
    unknown = await api.client.get(
        "/v1/public/no-such-studio/fee-quote", params={"offering_id": offering_id}
    )
    assert unknown.status_code == 404
    no_seats = await api.client.get(path, params={"offering_id": offering_id, "seats": 0})
    assert no_seats.status_code == 400


async def test_a_csv_statement_has_major_units_and_a_currency_column(api: Api) -> None:
    tenant, _ = await paid_booking(api.client)
    as_json = await api.client.get("/v1/tenant/statement", headers=tenant)
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json()["data"][0]["gross"] == {"amount": 4230, "currency": "usd"}
    for how in (
        {"headers": tenant | {"Accept": "text/csv"}},
        {"headers": tenant, "params": {"format": "csv"}},
    ):
        response = await api.client.get("/v1/tenant/statement", **how)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        (row,) = list(csv.DictReader(io.StringIO(response.text)))
        assert row == {
            "currency": "USD",
            "bookings": "1",
            "gross": "42.30",
            "refunds": "0.00",
            "fees": "2.30",
            "fee_refunds": "0.00",
            "disputes": "0.00",
            "net": "40.00",
        }


async def test_an_unknown_statement_format_is_refused_not_answered_in_json(api: Api) -> None:
    tenant, _ = await paid_booking(api.client)
    response = await api.client.get(
        "/v1/tenant/statement", params={"format": "xlsx"}, headers=tenant
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("amount", "currency", "written"),
    [
        (4230, "usd", "42.30"),
        (5, "eur", "0.05"),
        (-230, "usd", "-2.30"),
        (1500, "jpy", "1500"),
        (1250, "kwd", "1.250"),
        (0, "usd", "0.00"),
    ],
)
def test_csv_amounts_use_the_currencys_own_decimals(
    amount: int, currency: str, written: str
) -> None:
    assert major_units(SignedMoney(amount=amount, currency=currency)) == written
