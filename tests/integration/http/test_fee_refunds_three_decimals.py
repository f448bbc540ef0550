"""Issue 12, "What was seen" 3, for Bookpay's own partial refunds in a three-decimal
currency: each refund keeps the fee refund Stripe made (its rounding), not the policy's
running-total share, so what a lost dispute later takes back from the tenant is what the
tenant really still holds.

A 4.500 KWD booking (2 × 2.000, plus 0.500 fee the customer bears: 5 % + 0.300), two
refunds of 1.230 each. Stripe gives back 500 × 1230 / 4500 = 136.7 → 0.140 of its fee with
each (KWD goes by 10 fils): 0.280 in all, where a running total would say 0.270 (the
domain now expects Stripe's rounding too: domain.cancellation.stripe_fee_refund). The
tenant received 4.000 and gave back 2.460 − 0.280, so it still holds 1.820 (not 1.810).

Through HTTP with the fake's dashboard, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import open_shop

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


async def _paid_kwd_booking(client: AppClient) -> tuple[dict[str, str], str]:
    shop = await open_shop(
        client, country="KW", currency="kwd", timezone="Asia/Kuwait", fee_fixed=300
    )
    checkout = await client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 2, "customer": {"email": "ada@example.com"}},
    )
    assert checkout.status_code == 201, checkout.text
    assert checkout.json()["quote"]["customer_total"]["amount"] == 4500
    paid = await client.post(
        checkout.json()["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    return shop.tenant, str(checkout.json()["booking_id"])


async def _ledger(
    client: AppClient, tenant: dict[str, str], booking_id: str
) -> list[tuple[str, int]]:
    detail = await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)
    assert detail.status_code == 200, detail.text
    return sorted((e["kind"], e["amount"]["amount"]) for e in detail.json()["ledger"])


async def test_a_lost_dispute_takes_back_what_the_tenant_holds_after_stripes_fee_refunds(
    client: AppClient,
) -> None:
    tenant, booking_id = await _paid_kwd_booking(client)
    for _ in range(2):
        refunded = await client.post(
            f"/v1/tenant/bookings/{booking_id}/refunds",
            json={"amount": {"amount": 1230, "currency": "kwd"}},
            headers=tenant,
        )
        assert refunded.status_code == 201, refunded.text
    ledger = await _ledger(client, tenant, booking_id)
    assert sum(a for k, a in ledger if k == "application_fee_refund") == 280

    booking = await client.get(f"/v1/tenant/bookings/{booking_id}", headers=tenant)
    payment = booking.json()["payment_intent"]
    opened = await client.post(f"/fake-stripe/payments/{payment}/dispute", json={})
    assert opened.status_code in (200, 201), opened.text
    closed = await client.post(
        f"/fake-stripe/disputes/{opened.json()['dispute_id']}/close", json={"outcome": "lost"}
    )
    assert closed.status_code in (200, 201), closed.text

    # The platform lost the 2.040 still charged; it takes back from the tenant what the
    # tenant still holds of the payment: 4.000 − (2.460 − 0.280) = 1.820.
    statement = await client.get("/v1/tenant/statement", headers=tenant)
    assert statement.status_code == 200, statement.text
    (line,) = statement.json()["data"]
    assert line["disputes"]["amount"] == 1820
    assert line["fee_refunds"]["amount"] == 280
