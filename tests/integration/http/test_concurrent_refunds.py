"""Concurrent refund requests over HTTP never refund more than was paid, on SQLite and
PostgreSQL: exactly what fits is refunded, every other request answers 409."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import paid_booking

pytestmark = [pytest.mark.refunds, pytest.mark.race]

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
    async with AppClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


async def test_concurrent_partial_refunds_refund_exactly_what_fits(
    client: AppClient,
) -> None:
    tenant, booking_id = await paid_booking(client)

    answers = await asyncio.gather(
        *(
            client.post(
                f"/v1/tenant/bookings/{booking_id}/refunds",
                json={"amount": {"amount": 1000, "currency": "usd"}},
                headers=tenant,
            )
            for _ in range(10)
        )
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 4 + [409] * 6, [a.text for a in answers]
    detail = (await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    assert detail["refunded"] == {"amount": 4000, "currency": "usd"}
    refunds = [e["amount"]["amount"] for e in detail["ledger"] if e["kind"] == "refund"]
    assert sorted(refunds) == [1000] * 4


async def test_concurrent_full_refunds_and_cancellations_refund_once(
    client: AppClient,
) -> None:
    tenant, booking_id = await paid_booking(client)

    refunds = [
        client.post(f"/v1/tenant/bookings/{booking_id}/refunds", json={}, headers=tenant)
        for _ in range(4)
    ]
    cancels = [
        client.post(f"/v1/tenant/bookings/{booking_id}/cancel", json={}, headers=tenant)
        for _ in range(2)
    ]
    answers = await asyncio.gather(*refunds, *cancels)

    assert all(a.status_code in (200, 201, 409) for a in answers), [a.text for a in answers]
    detail = (await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)).json()
    assert detail["refunded"] == {"amount": 4230, "currency": "usd"}
    assert [e["amount"]["amount"] for e in detail["ledger"] if e["kind"] == "refund"] == [4230]
    succeeded = [a for a in answers[:4] if a.status_code == 201]
    assert len(succeeded) <= 1
