"""Review 12b: a signed event's own date and an account snapshot are still taken on its word.

Dispute events are checked against the gateway (their status, refundability and funds are
the gateway's), but the snapshot is dated by the event's own `created`, which the sender
chooses up to 300 s ahead of our clock. A forged event dated ahead thus outranks the real
report of what the gateway does next (e.g. the dispute is lost), which is ignored as
older. `account.updated` is applied on its word: a signed snapshot that Stripe's account
does not back stops a tenant that can sell.

Through HTTP with the fake gateway (destination charges), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.ports.gateway import WebhookEndpoint
from tests.support.http_flows import paid_booking
from tests.support.webhook_shop import Shop, stripe_event
from tests.support.webhook_shop import dispute_created as _disputed

PLATFORM = WebhookEndpoint.PLATFORM
CONNECT = WebhookEndpoint.CONNECT
# Dated now, the forged replay is harmless (the control); dated ahead within the skew, not.
AHEAD = [
    pytest.param(timedelta(0), id="dated-now"),
    pytest.param(timedelta(seconds=290), id="dated-290s-ahead"),
]


async def _paid(shop: Shop) -> tuple[dict[str, str], str, str, str]:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    async def charge() -> str:
        return str((await shop.container.gateway().retrieve_payment(payment)).charge_id)

    return tenant, booking_id, payment, await shop.in_app(charge)


def _dated(event: dict[str, Any], ahead: timedelta) -> dict[str, Any]:
    event["created"] = int((datetime.now(UTC) + ahead).timestamp())
    return event


@pytest.mark.parametrize("ahead", AHEAD)
async def test_a_signed_dispute_update_dated_ahead_does_not_hide_the_lost_outcome(
    shop: Shop, ahead: timedelta
) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    dispute_id = opened["dispute_id"]
    # A signed replay of the dispute as it stands, dated 290 s ahead (within the skew).
    body = _disputed(payment, dispute_id, None, charge)["data"]["object"]
    forged = _dated(stripe_event("charge.dispute.updated", body, None), ahead)
    await shop.post_event(forged, PLATFORM)

    # Stripe then decides the dispute: lost. Its charge.dispute.closed is dated now.
    await shop.dashboard(f"disputes/{dispute_id}/close", {"outcome": "lost"})

    booking = await shop.booking(tenant, booking_id)
    assert [(d["id"], d["status"]) for d in booking["disputes"]] == [(dispute_id, "lost")]


@pytest.mark.parametrize("ahead", AHEAD)
async def test_a_signed_dispute_update_dated_ahead_does_not_keep_refunds_blocked_after_a_win(
    shop: Shop, ahead: timedelta
) -> None:
    tenant, booking_id, payment, charge = await _paid(shop)
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    dispute_id = opened["dispute_id"]
    body = _disputed(payment, dispute_id, None, charge)["data"]["object"]
    forged = _dated(stripe_event("charge.dispute.updated", body, None), ahead)
    await shop.post_event(forged, PLATFORM)

    await shop.dashboard(f"disputes/{dispute_id}/close", {"outcome": "won"})

    booking = await shop.booking(tenant, booking_id)
    assert [(d["id"], d["status"]) for d in booking["disputes"]] == [(dispute_id, "won")]


async def _account_id(shop: Shop, tenant: dict[str, str]) -> str:
    status = (await shop.client.get("/v1/tenant/connect/status", headers=tenant)).json()
    assert status["charges_enabled"] is True
    return str(status["account_id"])


async def _can_sell(shop: Shop, tenant: dict[str, str]) -> bool:
    return bool((await shop.client.get("/v1/tenant", headers=tenant)).json()["can_sell"])


def _account_event(account_id: str, *, charges_enabled: bool) -> dict[str, Any]:
    return stripe_event(
        "account.updated",
        {
            "id": account_id,
            "object": "account",
            "charges_enabled": charges_enabled,
            "payouts_enabled": charges_enabled,
            "details_submitted": True,
            "requirements": {"currently_due": [] if charges_enabled else ["external_account"]},
        },
        account_id,
    )


async def test_a_signed_account_snapshot_stripe_does_not_back_leaves_the_tenant_selling(
    shop: Shop,
) -> None:
    tenant, _ = await paid_booking(shop.client)
    account_id = await _account_id(shop, tenant)

    await shop.post_event(_account_event(account_id, charges_enabled=False), CONNECT)

    # The fake's account (Stripe's truth) can still take charges.
    async def truth() -> bool:
        return bool((await shop.container.gateway().retrieve_account(account_id)).charges_enabled)

    assert await shop.in_app(truth)
    assert await _can_sell(shop, tenant)


@pytest.mark.parametrize("ahead", AHEAD)
async def test_a_signed_account_snapshot_dated_ahead_does_not_outrank_stripe_disabling_it(
    shop: Shop, ahead: timedelta
) -> None:
    tenant, _ = await paid_booking(shop.client)
    account_id = await _account_id(shop, tenant)
    forged = _dated(_account_event(account_id, charges_enabled=True), ahead)
    await shop.post_event(forged, CONNECT)

    # Stripe disables the account: its account.updated is dated now.
    await shop.dashboard(f"accounts/{account_id}", {"charges_enabled": False})

    assert not await _can_sell(shop, tenant)
