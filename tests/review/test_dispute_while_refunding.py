"""Review 12: a dispute opened while a refund's outcome is unknown.

The tenant's partial refund gets no answer (Stripe down); the customer disputes; Stripe
comes back. A refund Stripe made must end settled exactly once, one it never saw must end
released, and no money is shown that Stripe did not move.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.gateway_doubles import GatewayLink
from tests.support.http_flows import paid_booking
from tests.support.webhook_shop import Shop, shop_on


@pytest.fixture
async def linked(review_database_url: str | None, tmp_path: Path) -> AsyncIterator[Shop]:
    async with shop_on(review_database_url, tmp_path, gateway_wrapper=GatewayLink) as opened:
        yield opened


async def _made(shop: Shop, payment: str) -> list[int]:
    async def made() -> list[int]:
        refunds = await shop.container.fake_gateway().list_refunds(payment)
        return sorted(r.amount.amount for r in refunds)

    return await shop.in_app(made)


@pytest.mark.parametrize("lands", [False, True], ids=["never-reached", "answer-lost"])
async def test_a_refund_unknown_when_a_dispute_opens_converges(linked: Shop, lands: bool) -> None:
    shop = linked
    link: GatewayLink = shop.container.gateway()
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    key = {**tenant, "Idempotency-Key": "review-refund-1"}
    link.down, link.lands = True, lands
    body = {"amount": {"amount": 1000, "currency": "usd"}}
    url = f"/v1/tenant/bookings/{booking_id}/refunds"
    first = await shop.client.post(url, json=body, headers=key)
    assert first.status_code == 503, first.text

    await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    link.down = False
    retry = await shop.client.post(url, json=body, headers=key)
    await shop.reconcile()

    made = await _made(shop, payment)
    booking = await shop.booking(tenant, booking_id)
    assert made == ([1000] if lands else [])
    assert booking["refunded"]["amount"] == sum(made), (retry.status_code, retry.text, booking)
    refunds = sum(e["amount"]["amount"] for e in booking["ledger"] if e["kind"] == "refund")
    assert refunds == sum(made)
    assert retry.status_code in ((201, 409) if lands else (409,)), retry.text
