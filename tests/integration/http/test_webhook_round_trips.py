"""What applying a `checkout.session.completed` sends to PostgreSQL, under row-level
security (the default), pinned so that round trips cannot creep back (issue 19: a
webhook's cost follows its round trips, bench/findings.md).

A new event: a read-only transaction looks the event up in the inbox and reads the session's
booking and tenant for its check (the gateway's facts are the fake's, in memory here, asked
once that transaction has ended); one transaction records the event in the inbox,
confirms the booking (seats, ledger, booking, its event out) and reads whether refunds or
disputes were parked for the payment. Each transaction enters its row scope with its BEGIN
(one simple query, adapters/sql/row_scope.py `ScopedConnection`), and the parked events
are looked at inside the confirming transaction, not in one of their own after it.
A duplicate: the inbox lookup finds it in the read-only transaction, where the session's
booking is read for the payment it was paid with and the parked read follows; nothing is
checked, so the gateway is not asked.
tests/integration/http/test_checkout_round_trips.py does the same for a checkout;
bench/roundtrips.py counts through a real server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg.connection
import asyncpg.prepared_stmt
import httpx
import pytest
from dependency_injector import providers

from application.ports.gateway import WebhookEndpoint
from entrypoints.fake_stripe_wiring import WEBHOOK_PATHS
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, asgi_transport, build_test_app
from tests.support.http_flows import open_shop

pytestmark = pytest.mark.postgres

# Webhooks act for the platform.
SCOPE = "SELECT set_config('role', 'bookpay_app', true), set_config('bookpay.tenant_id', '*', true)"
SCOPED_BEGIN = "BEGIN with the platform's scope"


def _kind(simple_query: str) -> str:
    """BEGIN (whatever isolation level it names), with the scope or without; the rest as is."""
    if simple_query.startswith("BEGIN"):
        return SCOPED_BEGIN if simple_query.endswith(f"; {SCOPE}") else "BEGIN"
    return simple_query


@pytest.fixture
def exchanges(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Messages asyncpg exchanges with the server: executions of prepared statements, and
    simple queries by their text."""
    counts: Counter[str] = Counter()

    def counted(owner: Any, name: str, key: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[_kind(str(args[1]).strip()) if key == "simple" else key] += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counted(asyncpg.connection.Connection, "execute", "simple")
    counted(asyncpg.prepared_stmt.PreparedStatement, "_PreparedStatement__do_execute", "executes")
    return counts


async def test_a_completion_and_its_duplicate_send_their_statements(
    tmp_path: Path, migrated_postgres_url: str, exchanges: Counter[str]
) -> None:
    # No background job (hold sweeper, events-out relay) shares the counted moments.
    app, container = build_test_app(
        tmp_path, migrated_postgres_url, sweep_seconds=0, outbound_poll_seconds=0
    )
    deliveries: list[tuple[WebhookEndpoint, bytes, dict[str, str]]] = []

    async def keep(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        """Completions are kept to be sent while counting; other events go in now."""
        if b'"checkout.session.completed"' in body:
            deliveries.append((endpoint, body, headers))
            return 200
        transport = asgi_transport(app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as other:
            answer = await other.post(WEBHOOK_PATHS[endpoint], content=body, headers=headers)
        return answer.status_code

    container.webhook_delivery.override(providers.Object(keep))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)

        async def paid_completion(email: str) -> tuple[str, bytes, dict[str, str]]:
            checkout = await client.post(
                f"/v1/public/{shop.slug}/checkout",
                json={"slot_id": shop.slot_id, "seats": 1, "customer": {"email": email}},
            )
            assert checkout.status_code == 201, checkout.text
            deliveries.clear()
            paid = await client.post(
                checkout.json()["checkout_url"] + "/pay",
                data={"method": "card"},
                follow_redirects=False,
            )
            assert paid.status_code == 303, paid.text
            ((endpoint, body, headers),) = deliveries
            return WEBHOOK_PATHS[endpoint], body, headers

        async def send(path: str, body: bytes, headers: dict[str, str]) -> str:
            answer = await client.post(path, content=body, headers=headers)
            assert answer.status_code == 200, answer.text
            return str(answer.json()["outcome"])

        warm = await paid_completion("warm@example.com")  # connections, statement caches
        assert await send(*warm) == "applied"
        counted = await paid_completion("counted@example.com")

        exchanges.clear()
        assert await send(*counted) == "applied"
        applied = Counter(exchanges)
        exchanges.clear()
        assert await send(*counted) == "duplicate"
        duplicate = Counter(exchanges)

    kinds = ("executes", SCOPED_BEGIN, "BEGIN", "COMMIT;", "ROLLBACK;")
    # Read: inbox lookup, booking, tenant. Apply: inbox, booking, seats, ledger, booking
    # update, the ledger read for its event out, the event out, the parked events. The
    # lookup is one statement more than before it (issue 19: it spares a duplicate its
    # gateway call), in the same transaction.
    assert {kind: applied[kind] for kind in kinds} == {
        "executes": 11,
        SCOPED_BEGIN: 2,
        "BEGIN": 0,
        "COMMIT;": 1,
        "ROLLBACK;": 1,
    }, applied
    # Read: inbox lookup (found), the session's booking (two statements: the booking and its
    # parts) for the payment it was paid with, the parked events. No check, no second
    # transaction.
    assert {kind: duplicate[kind] for kind in kinds} == {
        "executes": 4,
        SCOPED_BEGIN: 1,
        "BEGIN": 0,
        "COMMIT;": 0,
        "ROLLBACK;": 1,
    }, duplicate
    await container.engine().dispose()
