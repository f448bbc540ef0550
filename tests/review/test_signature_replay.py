"""Review 12: the 300 s tolerance on signature timestamps can be walked around.

The stripe SDK checks the HMAC against the first item whose key is exactly `t`; Bookpay's
own time check reads the first item whose key is `t` once stripped of spaces. A header
`v1=<sig>, t=<now>,t=<old>` therefore has its signature checked at the old time and its
age checked at the new one: a delivery captured a day (or a year) ago is accepted again
without knowing the secret.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from adapters.stripe_wire import signature as stripe_signature
from tests.support.http_app import CONNECT_WEBHOOK_SECRET
from tests.support.http_flows import paid_booking
from tests.support.webhook_shop import Shop, stripe_event


async def test_a_captured_day_old_delivery_cannot_be_replayed_with_a_fresh_timestamp(
    shop: Shop,
) -> None:
    tenant, _ = await paid_booking(shop.client)
    status = (await shop.client.get("/v1/tenant/connect/status", headers=tenant)).json()
    account_id = status["account_id"]
    event = stripe_event(
        "account.updated",
        {
            "id": account_id,
            "object": "account",
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": True,
            "requirements": {"currently_due": ["external_account"]},
        },
        account_id,
    )
    body = json.dumps(event).encode()
    old = datetime.now(UTC) - timedelta(days=1)
    captured = stripe_signature.sign(body, CONNECT_WEBHOOK_SECRET, old)  # t=<old>,v1=<sig>
    old_t, v1 = captured.split(",")
    now_t = f"t={int(datetime.now(UTC).timestamp())}"
    replayed = f"{v1}, {now_t},{old_t}"

    answer = await shop.client.post(
        "/v1/webhooks/stripe/connect",
        content=body,
        headers={"Stripe-Signature": replayed, "Content-Type": "application/json"},
    )

    assert answer.status_code == 400, answer.text
    can_sell = (await shop.client.get("/v1/tenant", headers=tenant)).json()["can_sell"]
    assert can_sell
