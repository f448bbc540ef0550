"""Several `bookpay serve` processes on one PostgreSQL: concurrent checkouts for the last
seats and concurrent duplicate webhooks → no overbooking, one charge per booking; directly,
and through PgBouncer in transaction pooling mode (tools/pgbouncer.py), where consecutive
transactions of one connection run on different server connections."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import BOOKPAY, Server, start_server, stop_server
from tests.e2e.test_booking_journey import _create_tenant, _onboard
from tests.support.databases import create_postgres_database, drop_postgres_database
from tools.pgbouncer import running_pgbouncer

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["direct", "pgbouncer"])
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Server]]:
    url = create_postgres_database("bookpay_e2e_many")
    running: list[Server] = []
    try:
        with ExitStack() as stack:
            env: dict[str, str] = {}
            if request.param == "pgbouncer":
                # Migrations run directly (README, "PgBouncer"); the servers through it.
                migrate = {**os.environ, "BOOKPAY_DATABASE_URL": url}
                subprocess.run(
                    [str(BOOKPAY), "migrate"], env=migrate, check=True, capture_output=True
                )
                url = stack.enter_context(running_pgbouncer(url, pool_size=4)).url_for(url)
                env["BOOKPAY_DB_TRANSACTION_POOLER"] = "true"
            running.append(start_server(url, tmp_path / "a.log", workers=2, env=env))
            running.append(start_server(url, tmp_path / "b.log", workers=1, env=env, migrate=False))
            yield running
            for server in running:
                stop_server(server)
            running.clear()
    finally:
        for server in running:
            stop_server(server)
        drop_postgres_database(url)


def test_concurrent_checkouts_and_duplicate_webhooks_across_processes(
    servers: list[Server],
) -> None:
    a, b = servers
    api_key = _create_tenant(a, "many-rooms")
    with a.client(api_key) as tenant:
        _onboard(a, tenant)
        offering_id = tenant.post(
            "/v1/tenant/offerings",
            json={
                "name": "Escape room",
                "price": {"amount": 2500, "currency": "usd"},
                "duration_minutes": 60,
                "capacity": 3,
            },
        ).json()["id"]
        starts_at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        slot_id = tenant.post(
            f"/v1/tenant/offerings/{offering_id}/slots", json={"starts_at": starts_at.isoformat()}
        ).json()["data"][0]["id"]

    def checkout(attempt: int) -> httpx.Response:
        server = servers[attempt % 2]
        # Thirty customers, each connecting from an address of their own (any 127.x.y.z
        # is this host): the seats one address holds of a slot are counted.
        transport = httpx.HTTPTransport(local_address=f"127.0.0.{attempt + 10}")
        with httpx.Client(transport=transport, timeout=60) as customer:
            return customer.post(
                f"{server.base_url}/v1/public/many-rooms/checkout",
                json={"slot_id": slot_id, "seats": 1, "customer": {"email": f"c{attempt}@x.io"}},
            )

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(checkout, range(30)))
    assert Counter(r.status_code for r in answers) == {201: 3, 409: 27}, answers[0].text
    started = [r.json() for r in answers if r.status_code == 201]

    for index, booking in enumerate(started):  # each paid through another process's pages
        session_path = httpx.URL(booking["checkout_url"]).path
        server = servers[index % 2]
        paid = httpx.post(f"{server.base_url}{session_path}/pay", follow_redirects=False)
        assert paid.status_code == 303

    events = httpx.get(f"{a.base_url}/fake-stripe/events").json()["data"]
    completed = [e["id"] for e in events if e["type"] == "checkout.session.completed"]
    assert len(completed) == 3

    def resend(job: tuple[int, str]) -> int:
        attempt, event_id = job
        server = servers[attempt % 2]
        return httpx.post(
            f"{server.base_url}/fake-stripe/events/{event_id}/resend", timeout=60
        ).status_code

    jobs = [(n, event_id) for event_id in completed for n in range(8)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        assert set(pool.map(resend, jobs)) == {200}

    with b.client(api_key) as tenant:
        for booking in started:
            detail = tenant.get(f"/v1/tenant/bookings/{booking['booking_id']}").json()
            assert detail["status"] == "confirmed"
            kinds = Counter(e["kind"] for e in detail["ledger"])
            assert kinds == {"charge": 1, "application_fee": 1}
        slots = httpx.get(f"{b.base_url}/v1/public/many-rooms/offerings/{offering_id}/slots")
        assert slots.json()["data"][0]["seats_available"] == 0
        (line,) = tenant.get("/v1/tenant/statement").json()["data"]
        assert line["bookings"] == 3
        assert line["gross"]["amount"] == 3 * started[0]["quote"]["customer_total"]["amount"]
