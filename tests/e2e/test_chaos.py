"""Chaos: customers check out and pay, the tenant refunds and cancels, all at once, through
two `bookpay serve` processes on one PostgreSQL, while one of them is killed with SIGKILL
several times and started again. Then reconciliation runs. Whatever died halfway, the
database and the fake Stripe agree afterwards:

- every refund Bookpay shows was made exactly once at the gateway, and vice versa;
- every paid Checkout Session is confirmed once, or refunded once;
- no seat is held by a finished booking (a slot's held and booked seats are the sums over
  its bookings);
- no Idempotency-Key stays in progress.

Reconciliation also compares every paid booking's ledger with the fake Stripe's charge,
refunds and application fee, and leaves nothing for a human.

A client whose request failed because a process died retries it, as a real client would,
with the same Idempotency-Key, against whichever process is up. Loops are bounded by count
and by time, so the whole test takes about a minute (a restarted process skips migrating
the database the first one migrated); all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.sql.migrations import migrate
from tests.e2e.chaos_audit import assert_consistent
from tests.e2e.conftest import (
    ADMIN_KEY,
    BOOKPAY,
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    Server,
    start_server,
    stop_server,
)
from tests.e2e.test_booking_journey import _create_tenant, _onboard
from tests.support.databases import create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SLUG = "chaos-rooms"
CLIENTS = 6
JOURNEYS_PER_CLIENT = 10
KILLS = 3
STORM_SECONDS = 12.0  # the clients stop starting journeys after this
KILL_EVERY = (1.0, 3.0)  # seconds between a restart and the next kill, at random
ATTEMPTS = 40  # per request, across kills and restarts
RETRY_SECONDS = 30.0  # per request
# A claim whose process died is taken over by its retry after this (BOOKPAY_…, seconds);
# the default (5 minutes) would outlast the test.
CLAIM_TIMEOUT_SECONDS = 4
ENV = {"BOOKPAY_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT_SECONDS)}


@dataclass
class Cluster:
    """The steady process and the one that is killed; `victim` changes as it restarts."""

    url: str
    steady: Server
    victim: Server
    log_dir: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    restarts: int = 0

    def base_urls(self) -> list[str]:
        with self.lock:
            return [self.steady.base_url, self.victim.base_url]

    def kill_and_restart(self) -> None:
        with self.lock:
            dead = self.victim
        dead.process.send_signal(signal.SIGKILL)
        dead.process.wait(timeout=15)
        self.restarts += 1
        fresh = start_server(
            self.url,
            self.log_dir / f"victim-{self.restarts}.log",
            workers=1,
            env=ENV,
            migrate=False,
        )
        with self.lock:
            self.victim = fresh


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    url = create_postgres_database("bookpay_e2e_chaos")
    started: list[Server] = []
    try:
        migrate(url)  # once, here: then both processes start side by side
        with ThreadPoolExecutor(max_workers=2) as pool:
            starting = [
                pool.submit(start_server, url, tmp_path / f"{name}.log", env=ENV, migrate=False)
                for name in ("steady", "victim-0")
            ]
            failed: BaseException | None = None
            for future in starting:  # every process that started is stopped below
                try:
                    started.append(future.result())
                except Exception as error:
                    failed = failed or error
            if failed is not None:
                raise failed
        running = Cluster(url, started[0], started[1], tmp_path)
        yield running
        started.append(running.victim)
    finally:
        for server in started:
            if server.process.poll() is None:
                stop_server(server)
        drop_postgres_database(url)


class GaveUp(AssertionError):
    pass


FAULTS: Counter[str] = Counter()  # what the clients met and retried, printed for the log


def _send(
    cluster: Cluster,
    method: str,
    path: str,
    *,
    api_key: str | None = None,
    key: str | None = None,
    body: Any = None,
) -> httpx.Response:
    """The request, retried with the same Idempotency-Key while a process is down or the
    key's first attempt died with its process; the first answer that is not such a fault."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    deadline = time.monotonic() + RETRY_SECONDS
    last: object = None
    for attempt in range(ATTEMPTS):
        base_url = cluster.base_urls()[random.randrange(2)]
        try:
            response = httpx.request(
                method,
                f"{base_url}{path}",
                headers=headers,
                json=body,
                follow_redirects=False,
                timeout=20,
            )
        except httpx.HTTPError as error:  # the process died (or is starting again)
            last = error
            FAULTS[type(error).__name__] += 1
        else:
            in_progress = response.status_code == 409 and "in progress" in response.text
            if response.status_code < 500 and not in_progress:
                return response
            last = response
            FAULTS["in progress" if in_progress else str(response.status_code)] += 1
        if time.monotonic() > deadline:
            break
        time.sleep(min(0.1 * 2**attempt, 1.0))
    raise GaveUp(f"{method} {path} kept failing: {last!r}")


def _journey(cluster: Cluster, api_key: str, slot_ids: list[str], rng: random.Random) -> str:
    """One customer's checkout, and what happens to it next; what it did, for the log."""
    checkout = _send(
        cluster,
        "POST",
        f"/v1/public/{SLUG}/checkout",
        key=f"chaos-checkout-{uuid.uuid4()}",
        body={
            "slot_id": rng.choice(slot_ids),
            "seats": rng.randint(1, 2),
            "customer": {"email": f"c{rng.randrange(10**6)}@example.com"},
        },
    )
    if checkout.status_code == 409:
        return "sold out"
    assert checkout.status_code == 201, checkout.text
    started = checkout.json()
    booking_id = started["booking_id"]
    roll = rng.random()
    if roll < 0.15:  # the tenant cancels it before it is paid
        cancelled = _send(
            cluster,
            "POST",
            f"/v1/tenant/bookings/{booking_id}/cancel",
            api_key=api_key,
            key=f"chaos-cancel-{uuid.uuid4()}",
            body={},
        )
        assert cancelled.status_code in (200, 409), cancelled.text
        return "abandoned"
    if roll < 0.25:
        return "left unpaid"
    pay_path = httpx.URL(started["checkout_url"]).path + "/pay"
    paid = _send(cluster, "POST", pay_path, body=None)
    assert paid.status_code == 303, paid.text
    roll = rng.random()
    if roll < 0.35:
        return "paid"
    if roll < 0.7:
        refunds = 0
        for _ in range(rng.randint(1, 2)):
            refunded = _send(
                cluster,
                "POST",
                f"/v1/tenant/bookings/{booking_id}/refunds",
                api_key=api_key,
                key=f"chaos-refund-{uuid.uuid4()}",
                body={"amount": {"amount": rng.randint(100, 900), "currency": "usd"}},
            )
            # 409: the confirmation has not reached Bookpay yet (the webhook's process died).
            assert refunded.status_code in (200, 201, 409), refunded.text
            refunds += refunded.status_code != 409
        return f"refunded {refunds}x"
    # The tenant cancels: a full refund whatever the cancellation terms and however long
    # the run takes (the offering has no windows either), so a cancelled booking is
    # refunded in full (_assert_consistent).
    cancelled = _send(
        cluster,
        "POST",
        f"/v1/tenant/bookings/{booking_id}/cancel",
        api_key=api_key,
        key=f"chaos-cancel-{uuid.uuid4()}",
        body={},
    )
    assert cancelled.status_code in (200, 409), cancelled.text
    return "cancelled" if cancelled.status_code == 200 else "cancel refused"


def _client(cluster: Cluster, api_key: str, slot_ids: list[str], seed: int) -> Counter[str]:
    rng = random.Random(seed)
    deadline = time.monotonic() + STORM_SECONDS
    done: Counter[str] = Counter()
    for _ in range(JOURNEYS_PER_CLIENT):
        if time.monotonic() > deadline:
            break
        done[_journey(cluster, api_key, slot_ids, rng)] += 1
    return done


def _reconcile(cluster: Cluster) -> None:
    env = {
        **os.environ,
        **ENV,
        "BOOKPAY_DATABASE_URL": cluster.url,
        "BOOKPAY_GATEWAY": "fake",
        "BOOKPAY_ADMIN_API_KEY": ADMIN_KEY,
        "BOOKPAY_PUBLIC_BASE_URL": cluster.steady.base_url,
        "BOOKPAY_INTERNAL_BASE_URL": cluster.steady.base_url,
        "BOOKPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": CONNECT_WEBHOOK_SECRET,
    }
    done = subprocess.run(
        [str(BOOKPAY), "reconcile"], env=env, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    printed = done.stdout.decode()
    print(printed)
    # Every paid booking's ledger agrees with the gateway's charge, refunds and fee.
    assert printed.splitlines()[0].endswith(", 0 left for a human"), printed


def test_nothing_is_lost_or_doubled_when_a_process_is_killed_again_and_again(
    cluster: Cluster,
) -> None:
    steady = cluster.steady
    api_key = _create_tenant(steady, SLUG)
    with steady.client(api_key) as tenant:
        _onboard(steady, tenant)
        offering = tenant.post(
            "/v1/tenant/offerings",
            json={
                "name": "Escape room",
                "price": {"amount": 2500, "currency": "usd"},
                "duration_minutes": 60,
                "capacity": 40,
                # Its many customers all connect from this test's one address, which may
                # otherwise hold no more of a slot than one booking: it sells whole slots.
                "max_seats_per_booking": 40,
            },
        )
        assert offering.status_code == 201, offering.text
        starts_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        slot_ids = []
        for hours in range(3):
            slots = tenant.post(
                f"/v1/tenant/offerings/{offering.json()['id']}/slots",
                json={"starts_at": (starts_at + timedelta(hours=hours)).isoformat()},
            )
            assert slots.status_code == 201, slots.text
            slot_ids.append(slots.json()["data"][0]["id"])

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        clients = [
            pool.submit(_client, cluster, api_key, slot_ids, seed) for seed in range(CLIENTS)
        ]
        for _ in range(KILLS):  # kill while the clients are busy, then start it again
            time.sleep(random.uniform(*KILL_EVERY))
            cluster.kill_and_restart()
        outcomes = sum((client.result() for client in clients), Counter[str]())
    took = time.monotonic() - began
    print(f"chaos: {dict(outcomes)} in {took:.0f} s; retried: {dict(FAULTS)}")
    assert cluster.restarts == KILLS
    assert sum(outcomes.values()) > CLIENTS, outcomes

    # Reconciliation asks the gateway about whatever the webhooks have not told yet.
    _reconcile(cluster)
    assert_consistent(cluster.url)
