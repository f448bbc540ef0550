"""A relay killed (SIGKILL) mid-delivery loses no event: after a restart every event is
delivered at least once, and a receiver that dedupes by `webhook-id` sees each exactly once.

The receiver answers slowly, so deliveries are in flight when the server process dies;
their lease (three times BOOKPAY_OUTBOUND_TIMEOUT_SECONDS) ends and the restarted process
claims them again. Loops are bounded in time; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import Server, start_server, stop_server
from tests.e2e.test_booking_journey import _create_tenant, _onboard
from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.event_receiver import event_receiver

pytestmark = pytest.mark.slow

SLOTS = 12
ENV = {
    "BOOKPAY_OUTBOUND_ALLOW_PRIVATE": "true",
    "BOOKPAY_OUTBOUND_TIMEOUT_SECONDS": "2",  # a lease of 6 s
    "BOOKPAY_OUTBOUND_RETRY_SECONDS": "1,1,1,1,1,1,1,1",
}


def _wait(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_events_survive_a_relay_killed_mid_delivery(database: str, tmp_path: Path) -> None:
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'bookpay.db'}"
    else:
        url = create_postgres_database("bookpay_e2e_events")
    server: Server | None = start_server(url, tmp_path / "first.log", env=ENV)
    try:
        with event_receiver() as receiver:
            receiver.delay = 0.8  # in flight long enough to be killed under
            assert server is not None
            with server.client(server.admin_key) as admin:
                created = admin.post(
                    "/v1/admin/webhook-endpoints",
                    json={"url": receiver.url, "events": ["slot.cancelled"]},
                )
            assert created.status_code == 201, created.text
            secret = created.json()["secret"]
            api_key = _create_tenant(server, "kill-relay")
            with server.client(api_key) as tenant:
                _onboard(server, tenant)
                offering = tenant.post(
                    "/v1/tenant/offerings",
                    json={
                        "name": "Class",
                        "price": {"amount": 2000, "currency": "usd"},
                        "duration_minutes": 60,
                        "capacity": 3,
                    },
                )
                assert offering.status_code == 201, offering.text
                first = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
                slots = tenant.post(
                    f"/v1/tenant/offerings/{offering.json()['id']}/slots",
                    json={
                        "slots": [
                            {"starts_at": (first + timedelta(hours=i)).isoformat()}
                            for i in range(SLOTS)
                        ]
                    },
                )
                assert slots.status_code == 201, slots.text
                slot_ids = {slot["id"] for slot in slots.json()["data"]}
                for slot_id in slot_ids:
                    cancelled = tenant.post(f"/v1/tenant/slots/{slot_id}/cancel", json={})
                    assert cancelled.status_code == 200, cancelled.text

            # Killed while the first deliveries wait for the receiver's answer.
            assert _wait(lambda: len(receiver.received) > 0, 30), "nothing was delivered"
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=15)
            server = None
            server = start_server(url, tmp_path / "second.log", env=ENV)

            receiver.delay = 0.0
            everything = _wait(lambda: len(receiver.unique()) >= SLOTS, 90)
            unique = receiver.unique()
            assert everything, f"{len(unique)} of {SLOTS} events arrived"
            seen = []
            for item in unique.values():
                event = Webhook(secret).verify(item.body, item.headers)
                assert event["type"] == "slot.cancelled"
                seen.append(event["data"]["id"])
            assert sorted(seen) == sorted(slot_ids)  # each exactly once after deduping
    finally:
        if server is not None:
            stop_server(server)
        if database == "postgres":
            drop_postgres_database(url)
