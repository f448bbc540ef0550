"""A refund gives money back, never seats: `status` stays the seat lifecycle and
`payment_status` says what happened to the money (issue 13, "What was seen" 4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY, BASE_URL, build_test_app
from tests.support.http_flows import paid_booking_with_token

pytestmark = pytest.mark.refunds


ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def client(database_url: str | None, tmp_path: Path) -> AsyncIterator[AppClient]:
    app, _ = build_test_app(tmp_path, database_url)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield client


async def _listed(client: AppClient, tenant: dict[str, str], **query: str) -> list[str]:
    response = await client.get("/v1/tenant/bookings", params=query, headers=tenant)
    assert response.status_code == 200, response.text
    return [booking["id"] for booking in response.json()["data"]]


async def test_a_partly_refunded_booking_stays_confirmed_listed_and_cancellable(
    client: AppClient,
) -> None:
    tenant, booking_id, token = await paid_booking_with_token(client)
    assert await _listed(client, tenant, payment_status="paid") == [booking_id]

    refunded = await client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds",
        json={"amount": {"amount": 1000, "currency": "usd"}},
        headers=tenant,
    )

    assert refunded.status_code == 201, refunded.text
    assert (refunded.json()["status"], refunded.json()["payment_status"]) == (
        "confirmed",
        "partially_refunded",
    )
    public = await client.get(f"/v1/public/bookings/{booking_id}", params={"token": token})
    assert public.json()["payment_status"] == "partially_refunded"
    assert await _listed(client, tenant, status="confirmed") == [booking_id]
    assert await _listed(client, tenant, payment_status="partially_refunded") == [booking_id]
    assert await _listed(client, tenant, payment_status="paid") == []
    assert await _listed(
        client, tenant, status="confirmed", payment_status="partially_refunded"
    ) == [booking_id]

    # The seats are still the customer's: they may cancel, and get the rest back.
    cancelled = await client.post(
        f"/v1/public/bookings/{booking_id}/cancel", params={"token": token}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["payment_status"]) == (
        "cancelled",
        "refunded",
    )
    assert await _listed(client, tenant, status="cancelled", payment_status="refunded") == [
        booking_id
    ]


@pytest.mark.parametrize(
    "query",
    [{"payment_status": "refunded_twice"}, {"status": "refunded"}],
    ids=["unknown payment status", "refunded is no longer a status"],
)
async def test_an_unknown_filter_value_is_a_client_error(
    client: AppClient, query: dict[str, str]
) -> None:
    tenant, _, _ = await paid_booking_with_token(client)
    response = await client.get("/v1/tenant/bookings", params=query, headers=tenant)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_admin_lists_a_tenants_bookings_by_seats_and_money(
    client: AppClient,
) -> None:
    tenant, booking_id, _ = await paid_booking_with_token(client)
    profile = (await client.get("/v1/tenant", headers=tenant)).json()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    await client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds",
        json={"amount": {"amount": 1000, "currency": "usd"}},
        headers=tenant,
    )

    async def listed(**query: str) -> list[tuple[str, str, str]]:
        response = await client.get(
            "/v1/admin/bookings", params={"tenant_id": profile["id"], **query}, headers=admin
        )
        assert response.status_code == 200, response.text
        return [(b["id"], b["status"], b["payment_status"]) for b in response.json()["data"]]

    part = (booking_id, "confirmed", "partially_refunded")
    assert await listed() == [part]
    assert await listed(status="confirmed", payment_status="partially_refunded") == [part]
    assert await listed(payment_status="refunded") == []
    anonymous = await client.get("/v1/admin/bookings", params={"tenant_id": profile["id"]})
    assert anonymous.status_code == 401
