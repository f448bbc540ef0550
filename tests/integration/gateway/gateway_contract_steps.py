"""A step the gateway contract tests share: a connected account (onboarded unless asked)."""

from __future__ import annotations

from tests.integration.gateway.conftest import GatewayHarness


async def connected_account(
    harness: GatewayHarness, key: str = "bookpay-account-tn_0001", *, onboarded: bool = True
) -> str:
    status = await harness.gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email="owner@yoga.example", idempotency_key=key
    )
    assert status.account_id is not None
    if onboarded:
        await harness.onboard(status.account_id)
    return status.account_id
