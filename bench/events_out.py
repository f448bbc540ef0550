"""Events out under `make bench`: how many events one `bookpay serve` process delivers per
second to a local receiver, and the delay from commit to delivery (p50/p99) while customers
check out as fast as they can (bench.loadgen, 16 connections) and a tenant cancels slots at
a steady rate (each cancellation commits one `slot.cancelled`).

1. With the relay off (`BOOKPAY_OUTBOUND_POLL_SECONDS=0`) the tenant cancels EVENTS slots;
   the server restarts with the relay on, and the receiver times the backlog's delivery
   (first arrival to last: events per second).
2. Then, under the checkout load, the tenant cancels RATE slots a second for SECONDS; each
   event's delay is its arrival at the receiver less its `created_at` (the commit; same
   machine, same clock).

    .venv/bin/python -m bench.events_out [--events 300] [--rate 20] [--seconds 5]
        [--databases sqlite,postgres] [--append docs/benchmarks.md [--started EPOCH]]

With `--started` (when `make bench` started, in seconds since the epoch: the Makefile's
`date +%s`) it appends only to a report written since then, by this run's bench.run (not
the previous run's, when this one's crashed), and adds the whole `make bench`'s time.
All traffic goes to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench.common import ADMIN_KEY, free_port, log, throwaway_database
from bench.load import LoadSettings, run_load
from bench.report_sections import _mark
from bench.servers import Server, bookpay_command, server_env, start_server, stop_server

ENV = {"BOOKPAY_OUTBOUND_ALLOW_PRIVATE": "true", "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "0"}


@dataclass
class Arrivals:
    """webhook-id → (arrival, the event's created_at), first arrival only."""

    first: dict[str, tuple[float, datetime]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.first)


class _Server(ThreadingHTTPServer):
    # http.server's listen backlog of 5 drops connections when a relay sends a burst of
    # deliveries at once; a real endpoint's server queues far more.
    request_queue_size = 256
    daemon_threads = True


@contextmanager
def receiver() -> Iterator[tuple[str, Arrivals]]:
    arrivals = Arrivals()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            now = time.time()
            created = datetime.fromisoformat(json.loads(body)["created_at"])
            with arrivals.lock:
                arrivals.first.setdefault(self.headers["webhook-id"], (now, created))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events", arrivals
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Shop:
    key: str
    slug: str
    to_cancel: list[str]  # slots of a small offering
    for_sale: list[str]  # slots of a large offering, for the checkout load


def _slots(base: str, tenant: dict[str, str], offering_id: str, count: int, days: int) -> list[str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    ids: list[str] = []
    while len(ids) < count:
        batch = [
            {"starts_at": (start + timedelta(minutes=len(ids) + i)).isoformat()}
            for i in range(min(500, count - len(ids)))
        ]
        answer = httpx.post(
            f"{base}/v1/tenant/offerings/{offering_id}/slots",
            headers=tenant,
            json={"slots": batch},
            timeout=60,
        )
        ids += [slot["id"] for slot in answer.json()["data"]]
    return ids


def _offering(base: str, tenant: dict[str, str], capacity: int) -> str:
    answer = httpx.post(
        f"{base}/v1/tenant/offerings",
        headers=tenant,
        json={
            "name": "Class",
            "price": {"amount": 2000, "currency": "usd"},
            "duration_minutes": 60,
            "capacity": capacity,
        },
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


def _shop(base: str, slots: int) -> Shop:
    """An onboarded tenant: its key, slug, `slots` slots to cancel and 20 to sell."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = httpx.post(
        f"{base}/v1/admin/tenants",
        headers=admin,
        json={
            "name": "Bench",
            "slug": f"bench-events-{int(time.time())}",
            "country": "US",
            "default_currency": "usd",
            "timezone": "UTC",
        },
    ).json()
    key = created["api_key"]
    tenant = {"Authorization": f"Bearer {key}"}
    link = httpx.post(f"{base}/v1/tenant/connect/onboarding-link", headers=tenant).json()
    httpx.post(link["url"])
    to_cancel = _slots(base, tenant, _offering(base, tenant, 5), slots, days=3)
    for_sale = _slots(base, tenant, _offering(base, tenant, 100_000), 20, days=200)
    return Shop(key, created["tenant"]["slug"], to_cancel, for_sale)


def _cancel(base: str, key: str, slot_id: str) -> None:
    answer = httpx.post(
        f"{base}/v1/tenant/slots/{slot_id}/cancel",
        headers={"Authorization": f"Bearer {key}"},
        json={},
        timeout=30,
    )
    answer.raise_for_status()


def _wait(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def measure(database: str, events: int, rate: int, seconds: float) -> dict[str, float]:
    steady = int(rate * seconds)
    with throwaway_database(database) as url, receiver() as (endpoint, arrivals):
        port = free_port()
        env = {**server_env(url, port), **ENV, "BOOKPAY_OUTBOUND_POLL_SECONDS": "0"}
        server = start_server("bookpay", bookpay_command(port, 1), env, port)
        try:
            base = server.base_url
            httpx.post(
                f"{base}/v1/admin/webhook-endpoints",
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                json={"url": endpoint, "events": ["slot.cancelled"]},
            ).raise_for_status()
            shop = _shop(base, events + steady)
            key, slot_ids = shop.key, shop.to_cancel
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda s: _cancel(base, key, s), slot_ids[:events]))
        finally:
            stop_server(server)
        env["BOOKPAY_OUTBOUND_POLL_SECONDS"] = "1"
        server = start_server("bookpay", bookpay_command(port, 1), env, port)
        try:
            if not _wait(lambda: arrivals.count() >= events, 300):
                raise RuntimeError(f"only {arrivals.count()} of {events} events arrived")
            times = sorted(t for t, _ in arrivals.first.values())
            per_second = (events - 1) / max(times[-1] - times[0], 1e-6)
            backlog = set(arrivals.first)
            with _checkout_load(server, shop, seconds) as checkouts:
                started = time.monotonic()
                for i, slot_id in enumerate(slot_ids[events:]):
                    # A steady rate: each cancellation starts at its own time, not after the
                    # last.
                    time.sleep(max(0.0, started + i / rate - time.monotonic()))
                    _cancel(server.base_url, key, slot_id)
            if not _wait(lambda: arrivals.count() >= events + steady, 60):
                raise RuntimeError("the steady events did not all arrive")
            delays = sorted(
                t - created.timestamp()
                for event_id, (t, created) in arrivals.first.items()
                if event_id not in backlog
            )
        finally:
            stop_server(server)
    if not checkouts or checkouts[0]["errors"]:
        raise RuntimeError(f"the checkout load failed: {checkouts[:1]}")
    return {
        "per_second": per_second,
        "p50": statistics.median(delays),
        "p99": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        "checkouts_per_second": float(checkouts[0]["rps"]),
    }


@contextmanager
def _checkout_load(server: Server, shop: Shop, seconds: float) -> Iterator[list[dict[str, Any]]]:
    """Checkouts on 16 connections for the steady phase (1 s of warm-up first), from a
    thread running bench.loadgen; the list holds its result once the block is left."""
    results: list[dict[str, Any]] = []
    plan = {
        "label": "checkout load (events out)",
        "kind": "checkout",
        "port": server.port,
        "slug": shop.slug,
        "slot_ids": shop.for_sale,
    }
    settings = LoadSettings(seconds + 1.0, 1.0, 16)
    thread = threading.Thread(target=lambda: results.append(run_load(settings, plan, server)))
    thread.start()
    time.sleep(2.0)  # the load is on before the first cancellation
    try:
        yield results
    finally:
        thread.join(timeout=settings.seconds + 180)


def markdown(results: dict[str, dict[str, float]], events: int, rate: int) -> str:
    lines = [
        "",
        "## Events out",
        "",
        f"One `bookpay serve` process (1 worker), relay polling every second; a backlog of "
        f"{events} events, then {rate} cancellations a second while customers check out on "
        "16 connections as fast as the server answers (`python -m bench.events_out`).",
        "",
        "| database | delivered / s (backlog) | commit → delivery p50 | p99 "
        "| checkouts / s meanwhile |",
        "| --- | --- | --- | --- | --- |",
    ]
    for database, r in results.items():
        lines.append(
            f"| {database} | {r['per_second']:.0f} | {r['p50'] * 1000:.0f} ms | "
            f"{r['p99'] * 1000:.0f} ms | {r['checkouts_per_second']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def written_since(report: Path, started: float) -> bool:
    """Whether `report` was written at or after `started` (seconds since the epoch)."""
    return report.exists() and report.stat().st_mtime >= started


# Issue 19: `make bench` takes at most 10 minutes (on an idle machine: the header's Budget line).
BUDGET_MINUTES = 10


def run_time(started: float, own_started: float, finished: float, command: str) -> str:
    """The closing line of a `make bench` report: the whole run's minutes judged against
    issue 19's budget (BUDGET_MINUTES; met or **missed**, the Targets table's words) and
    events out's own minutes (all three times in seconds since the epoch)."""
    minutes = (finished - started) / 60
    return (
        f"\n`make bench` took {minutes:.1f} minutes in all, against its budget of at most "
        f"{BUDGET_MINUTES} minutes: {_mark(minutes <= BUDGET_MINUTES)}; "
        f"`python -m bench.run` (its time in the header), then events out "
        f"{(finished - own_started) / 60:.1f} minutes (`{command}`).\n"
    )


def main() -> None:
    own_started = time.time()
    parser = argparse.ArgumentParser(prog="bench.events_out", description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--append", type=Path, default=None)
    parser.add_argument(
        "--started", type=float, default=None, help="when `make bench` started (epoch seconds)"
    )
    args = parser.parse_args()
    must_be_fresh = args.append is not None and args.started is not None
    if must_be_fresh and not written_since(args.append, args.started):
        sys.exit(
            f"bench.events_out: not appending to {args.append}: this run's bench.run did "
            "not write it (it is missing or older than the run), so it holds no figure of "
            "this run"
        )
    results = {
        database: measure(database, args.events, args.rate, args.seconds)
        for database in filter(None, args.databases.split(","))
    }
    text = markdown(results, args.events, args.rate)
    if args.started is not None:
        command = shlex.join(["python", "-m", "bench.events_out", *sys.argv[1:]])
        text += run_time(args.started, own_started, time.time(), command)
    log(text)
    if args.append is not None:
        with args.append.open("a") as report:
            report.write(text)


if __name__ == "__main__":
    main()
