"""How the fake Stripe is wired in when BOOKPAY_GATEWAY=fake: where it delivers its signed
events (over HTTP to this server's webhook routes, as Stripe would) and the engine of its
own tables."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import create_engine
from adapters.sql.row_scope import as_the_login
from application.ports.gateway import WebhookEndpoint

WEBHOOK_PATHS = {
    WebhookEndpoint.PLATFORM: "/v1/webhooks/stripe",
    WebhookEndpoint.CONNECT: "/v1/webhooks/stripe/connect",
}


class HttpWebhookDelivery:
    """Deliver the fake gateway's signed events over HTTP, as Stripe would."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._client: httpx.AsyncClient | None = None

    async def __call__(
        self, endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]
    ) -> int:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0)
        response = await self._client.post(
            self._base_url + WEBHOOK_PATHS[endpoint], content=body, headers=headers
        )
        return response.status_code

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


# The fake Stripe's pool per process (PostgreSQL) waits longer than the app's: it stands for
# Stripe, which answers slower under load but never "busy" for want of a connection.
FAKE_STRIPE_POOL_WAIT_SECONDS = 30.0


def fake_stripe_engine(
    app_engine: AsyncEngine,
    database_url: str,
    *,
    pool_size: int,
    statement_timeout_ms: int,
    transaction_pooler: bool,
) -> AsyncEngine:
    """The engine of the fake Stripe's tables, run as the login (outside row-level
    security). On PostgreSQL a pool of its own (`pool_size` connections, the setting
    fake_stripe_pool_size; a longer wait): real Stripe costs Bookpay's pool nothing, and
    with the fake on the app's pool its three transactions of a checkout's seven were what
    filled it under load (issue 19). On SQLite the app's engine itself: one writer per
    file, the app's one connection."""
    if app_engine.dialect.name != "postgresql":
        return as_the_login(app_engine)
    return create_engine(
        database_url,
        pool_size=pool_size,
        statement_timeout_ms=statement_timeout_ms,
        transaction_pooler=transaction_pooler,
        pool_timeout_seconds=FAKE_STRIPE_POOL_WAIT_SECONDS,
    )
