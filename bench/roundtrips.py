"""Count the database work per request: `python -m bench.roundtrips [--database postgres]`.

Serves Bookpay (fake gateway) with uvicorn in a thread of this process on a throwaway
database, sets up the bench tenant over HTTP as `bench.run` does, then sends requests one
at a time and counts, per request:

- statements: every statement SQLAlchemy sends (a `before_cursor_execute` listener);
- round trips (PostgreSQL): every message exchange asyncpg has with the server, i.e. each
  prepared-statement execution, each PREPARE the statement cache missed, and each simple
  query (the BEGIN, COMMIT and ROLLBACK the asyncpg dialect sends on their own).

Nothing else runs in the process while a request is counted, so the deltas are exact.
The figures in bench/findings.md come from this tool.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

from adapters.stripe_signature import sign
from bench.run import (
    WEBHOOK_SECRET,
    free_port,
    server_env,
    set_up_tenant,
    throwaway_database,
    with_engine,
)
from bench.seed import seed_pending_bookings

COUNTS: Counter[str] = Counter()
STATEMENTS: list[str] = []


def _install_counters() -> None:
    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(*args: Any) -> None:
        COUNTS["statements"] += 1
        STATEMENTS.append(" ".join(str(args[2]).split())[:110])

    import asyncpg.connection
    import asyncpg.prepared_stmt

    def counted(owner: Any, name: str, key: str, label: Callable[..., str] | None) -> None:
        original = getattr(owner, name)

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            COUNTS["round_trips"] += 1
            COUNTS[key] += 1
            if label is not None:
                STATEMENTS.append("  [" + label(*args, **kwargs) + "]")
            return await original(*args, **kwargs)

        setattr(owner, name, wrapper)

    # Simple queries (BEGIN / COMMIT / ROLLBACK and anything sent as plain text).
    counted(
        asyncpg.connection.Connection,
        "execute",
        "simple_queries",
        lambda self, query, *a, **k: str(query).strip(),
    )
    # PREPARE of a statement the dialect's prepared-statement cache did not have.
    counted(asyncpg.connection.Connection, "_get_statement", "prepares", lambda *a, **k: "PREPARE")
    # Bind + execute of a prepared statement.
    counted(
        asyncpg.prepared_stmt.PreparedStatement, "_PreparedStatement__do_execute", "executes", None
    )


class ThreadServer:
    """uvicorn serving Bookpay's ASGI factory in a daemon thread."""

    def __init__(self, url: str) -> None:
        import uvicorn

        self.port = free_port()
        os.environ.update(server_env(url, self.port))
        config = uvicorn.Config(
            "entrypoints.asgi:create_asgi_app",
            factory=True,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/health/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("bookpay did not become ready")

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)


@contextmanager
def counting(label: str, requests: int, results: dict[str, dict[str, float]]) -> Iterator[None]:
    before = Counter(COUNTS)
    STATEMENTS.clear()
    yield
    delta = Counter(COUNTS)
    delta.subtract(before)
    results[label] = {key: delta[key] / requests for key in sorted(delta)}


def _webhook(booking: dict[str, Any]) -> bytes:
    session = {
        "id": booking["session_id"],
        "object": "checkout.session",
        "amount_subtotal": booking["amount"],
        "amount_total": booking["amount"],
        "client_reference_id": booking["booking_id"],
        "currency": booking["currency"],
        "metadata": {"tenant_id": booking["tenant_id"], "booking_id": booking["booking_id"]},
        "mode": "payment",
        "payment_intent": f"pi_{booking['booking_id']}",
        "payment_status": "paid",
        "status": "complete",
    }
    event_body = {
        "id": f"evt_{booking['booking_id']}",
        "object": "event",
        "api_version": "2023-08-16",
        "created": int(time.time()),
        "type": "checkout.session.completed",
        "livemode": False,
        "data": {"object": session},
    }
    return json.dumps(event_body).encode()


def measure(database: str, requests: int, show: bool) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with throwaway_database(database) as url, ThreadServer(url) as server:
        tenant = set_up_tenant(server, "bench-studio")  # type: ignore[arg-type]
        pending = with_engine(
            url, lambda engine: seed_pending_bookings(engine, tenant, requests + 10)
        )
        client = httpx.Client(base_url=server.base_url, timeout=30)

        def checkout(n: int) -> None:
            response = client.post(
                f"/v1/public/{tenant.slug}/checkout",
                json={
                    "slot_id": tenant.slot_ids[n % len(tenant.slot_ids)],
                    "seats": 1,
                    "customer": {"email": f"c{n}@example.com", "name": "Bench Customer"},
                },
            )
            assert response.status_code == 201, response.text

        def webhook(payload: bytes) -> str:
            signature = sign(payload, WEBHOOK_SECRET, datetime.now(UTC))
            response = client.post(
                "/v1/webhooks/stripe",
                content=payload,
                headers={"content-type": "application/json", "stripe-signature": signature},
            )
            assert response.status_code == 200, response.text
            return str(response.json()["outcome"])

        # Warm the caches (statement compilation, prepared statements) first.
        for n in range(5):
            checkout(n)
        payloads = [_webhook(booking) for booking in pending]
        for payload in payloads[:5]:
            webhook(payload)

        with counting("checkout", requests, results):
            for n in range(requests):
                checkout(1000 + n)
        checkout_statements = list(STATEMENTS)
        with counting("webhook, new event", requests, results):
            for payload in payloads[5 : 5 + requests]:
                assert webhook(payload) == "applied"
        webhook_statements = list(STATEMENTS)
        with counting("webhook, duplicate", requests, results):
            for payload in payloads[5 : 5 + requests]:
                assert webhook(payload) == "duplicate"
        client.close()
    if show:
        per = len(checkout_statements) // requests
        print("one checkout:\n  " + "\n  ".join(checkout_statements[:per]))
        per = len(webhook_statements) // requests
        print("one webhook:\n  " + "\n  ".join(webhook_statements[:per]))
    return results


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="bench.roundtrips", description=__doc__)
    parser.add_argument("--database", default="postgres", choices=["postgres", "sqlite"])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print one request's statements")
    args = parser.parse_args()
    _install_counters()
    results = measure(args.database, args.requests, args.show)
    print(f"per request ({args.database}, averaged over {args.requests}):")
    for label, counts in results.items():
        print(f"  {label:20} " + ", ".join(f"{k} {v:.1f}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
