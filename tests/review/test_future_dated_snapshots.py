"""Review 12: a correctly signed event dated in the future (its `created`, not its
signature) freezes a snapshot that Stripe's later truth can no longer overwrite.

Snapshots are ordered by the event's own `created`, which nothing bounds: one signed event
with `created` in 2099 wins over every genuine event Stripe sends afterwards and over
reconciliation (which applies what it reads as of now).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from application.ports.gateway import WebhookEndpoint
from tests.support.http_flows import paid_booking
from tests.support.webhook_shop import Shop, stripe_event
from tests.support.webhook_shop import dispute_created as _disputed

FAR_FUTURE = int(datetime(2099, 1, 1, tzinfo=UTC).timestamp())


async def _can_sell(shop: Shop, tenant: dict[str, str]) -> bool:
    return bool((await shop.client.get("/v1/tenant", headers=tenant)).json()["can_sell"])


async def _account_id(shop: Shop, tenant: dict[str, str]) -> str:
    status = (await shop.client.get("/v1/tenant/connect/status", headers=tenant)).json()
    return str(status["account_id"])


def _account_updated(account_id: str, *, charges_enabled: bool, created: int) -> dict[str, Any]:
    event = stripe_event(
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
    event["created"] = created
    return event


async def test_a_future_dated_disabled_account_snapshot_is_repaired_by_reconciliation(
    shop: Shop,
) -> None:
    tenant, _ = await paid_booking(shop.client)
    account_id = await _account_id(shop, tenant)
    assert await _can_sell(shop, tenant)

    forged = _account_updated(account_id, charges_enabled=False, created=FAR_FUTURE)
    await shop.post_event(forged, WebhookEndpoint.CONNECT)

    # Stripe says the account can take charges; reconciliation re-reads every account.
    await shop.reconcile()
    assert await _can_sell(shop, tenant), "Stripe says enabled, the tenant stays stopped"


async def test_a_future_dated_account_snapshot_does_not_hide_stripes_later_update(
    shop: Shop,
) -> None:
    tenant, _ = await paid_booking(shop.client)
    account_id = await _account_id(shop, tenant)

    forged = _account_updated(account_id, charges_enabled=True, created=FAR_FUTURE)
    await shop.post_event(forged, WebhookEndpoint.CONNECT)
    # Stripe disables the account (the dashboard delivers its genuine account.updated).
    await shop.dashboard(f"accounts/{account_id}", {"charges_enabled": False})
    await shop.reconcile()

    assert not await _can_sell(shop, tenant), "Stripe disabled the account, the tenant sells"


async def test_a_future_dated_dispute_snapshot_does_not_hide_its_closing(shop: Shop) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    async def charge() -> str:
        return str((await shop.container.gateway().retrieve_payment(payment)).charge_id)

    charge_id = await shop.in_app(charge)
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    dispute_id = opened["dispute_id"]

    # A signed charge.dispute.updated of the real dispute, dated 2099: the facts are
    # Stripe's (fetched), but the snapshot keeps the event's date.
    forged = _disputed(payment, dispute_id, None, charge_id)
    forged["type"] = "charge.dispute.updated"
    forged["created"] = FAR_FUTURE
    await shop.post_event(forged, WebhookEndpoint.PLATFORM)

    # The tenant wins the dispute at Stripe; the genuine charge.dispute.closed arrives.
    await shop.dashboard(f"disputes/{dispute_id}/close", {"outcome": "won"})
    await shop.reconcile()

    booking = await shop.booking(tenant, booking_id)
    assert [(d["id"], d["status"]) for d in booking["disputes"]] == [(dispute_id, "won")]
    assert booking["payment_status"] != "disputed"
    refund = await shop.refund(tenant, booking_id, 1000)
    assert refund.status_code == 201, refund.text
