"""The webhook storms (issue 19, item 2), on PostgreSQL: 10,000 completion events plus 20 %
duplicates on 64 connections, sent until all are delivered, then checked in the database
(exactly once); then a smaller one (2,000 events) with the gateway answering after the
latency scenario's delay (bench/scenarios.py), on one worker, and the fake's calls counted
for new events and duplicates. Each also in queue mode (bench/queue_storm.py): Bookpay
acknowledges once the event is kept and a worker applies it later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.checks import (
    Checks,
    WebhookCheck,
    audit_seats,
    check_webhooks_applied,
    still_pending,
)
from bench.common import (
    DUPLICATE_SHARE,
    WEBHOOK_SECRET,
    free_port,
    log,
    throwaway_database,
    with_engine,
)
from bench.load import LoadSettings, run_load
from bench.queue_drain import settle_queue, wait_for_drain
from bench.scenarios import (
    LATENCY_FAKE_STRIPE_POOL,
    LATENCY_P50_MS,
    LATENCY_P99_MS,
    drawn_delays,
    fake_stripe_timings,
    timings_spent,
)
from bench.seed import BenchTenant, seed_pending_bookings
from bench.servers import Server, bookpay_command, server_env, start_server, stop_server
from bench.shop import set_up_tenant, webhook_plan
from bench.watch import WatchTarget

STORM_CONNECTIONS = 64
# Both cores' workers, as a deployment on this machine runs: duplicates of one event then
# reach two processes at once, so the exactly-once check covers the inbox across processes.
STORM_WORKERS = 2
STORM_RETRIES = 3


@dataclass
class StormResult:
    events: int
    connections: int = STORM_CONNECTIONS
    workers: int = STORM_WORKERS
    figure: dict[str, Any] = field(default_factory=dict)
    check: WebhookCheck | None = None
    redelivered: list[int] = field(default_factory=list)  # events re-sent, per retry
    # What the checks call it ("webhook storm", or the run under the gateway's latency).
    name: str = "webhook storm"
    # The fake gateway's injected latency (p50, p99 in ms), or None: it answers at once.
    latency_ms: tuple[int, int] | None = None
    # Under latency, per load ("storm", "duplicates_only"): the fake's sums over it
    # (GET /fake-stripe/timings, after less before: "calls", "injected_seconds", …).
    gateway: dict[str, dict[str, float]] = field(default_factory=dict)
    # Under latency: the delays the fake drew during the storm ("injected_p50_ms",
    # "injected_p99_ms", "call_p99_ms", "calls"; drawn_delays).
    drawn: dict[str, float] = field(default_factory=dict)
    # Under latency: the applied events sent again, every request a duplicate: how many
    # gateway calls a duplicate makes (its figure's summary).
    duplicates_only: dict[str, Any] = field(default_factory=dict)
    # The second storm, under the latency scenario's gateway latency (run by bench.run).
    under_latency: StormResult | None = None
    # "apply": each webhook applied in its request; "queue": acknowledged once kept and
    # applied by the server's worker (BOOKPAY_WEBHOOK_MODE=queue, bench/queue_storm.py).
    mode: str = "apply"
    # Queue mode: the worker's gateway calls per second per process
    # (BOOKPAY_WEBHOOK_QUEUE_RATE; None: not set, the server's default).
    queue_rate: int | None = None
    # Queue mode: "seconds" from the storm's first request until received_events was
    # empty, "applied_per_second" (events sent over those seconds), "backlog" (rows left
    # when the last answer had come), "drained" (1.0, or 0.0 when it never emptied).
    drain: dict[str, float] = field(default_factory=dict)
    # The storm's answers by outcome (applied, duplicate, queued, …).
    outcomes: dict[str, int] = field(default_factory=dict)
    # The same storm in queue mode (run by bench.run beside this one).
    queued: StormResult | None = None


def measure_webhook_storm(events: int, checks: Checks) -> StormResult:
    """`events` completion events (each sent once, plus 20 % duplicates) until all are in."""
    result = StormResult(events)
    log(
        f"webhook storm: {events:,} events, {STORM_CONNECTIONS} connections, postgres, "
        f"{STORM_WORKERS} workers"
    )
    _storm(result, {}, checks)
    return result


# The storm again with the fake answering as the latency scenario's does: one worker, so
# that the fake's timings (kept per process) count every gateway call of the storm.
STORM_LATENCY_WORKERS = 1


def measure_storm_under_latency(events: int, checks: Checks) -> StormResult:
    """The storm (`events` events plus 20 % duplicates, 64 connections) with the gateway's
    latency of the latency scenario, on one worker; then the applied events once more,
    every request a duplicate, to count the gateway calls a duplicate makes. The same
    checks as the storm's, plus: the latency was injected."""
    result = StormResult(
        events,
        workers=STORM_LATENCY_WORKERS,
        name="webhook storm under gateway latency",
        latency_ms=(LATENCY_P50_MS, LATENCY_P99_MS),
    )
    expected = expected_storm_seconds(events, LATENCY_P50_MS, STORM_CONNECTIONS)
    log(
        f"{result.name}: {events:,} events, {STORM_CONNECTIONS} connections, postgres, "
        f"{STORM_LATENCY_WORKERS} worker, p50 {LATENCY_P50_MS} ms: about {expected:.0f} s "
        "of gateway waits at least"
    )
    _storm(result, _latency_env(), checks)
    return result


# Queue mode (BOOKPAY_WEBHOOK_MODE=queue): a 200 `queued` once the verified event is kept,
# applied later by the server's worker at BOOKPAY_WEBHOOK_QUEUE_RATE gateway calls a second
# per process. The 10,000-event storm runs it unpaced (0): against the fake answering at
# once the pace would be the whole drain (10,000 fetches at 20/s per worker: over four
# minutes), and this storm measures what Bookpay itself drains; the pace is measured under
# Stripe's latency, over few enough events that the paced drain stays short.
QUEUE_MODE = {"BOOKPAY_WEBHOOK_MODE": "queue"}
STORM_QUEUE_RATE = 0
# The queue's pace when not set (entrypoints/config.py's default), the latency storm's.
DEFAULT_QUEUE_RATE = 20
# 400 events plus duplicates at 20 fetches a second: a drain of about 20 s.
QUEUE_LATENCY_EVENTS = 400


def measure_queue_storm(events: int, checks: Checks) -> StormResult:
    """The storm (`events` events plus 20 % duplicates, 64 connections, 2 workers) in queue
    mode, unpaced: the acknowledgements' figure, then the drain; the same checks as the
    storm's, plus: the queue drained and the answers were `queued`."""
    result = StormResult(
        events, name="webhook storm in queue mode", mode="queue", queue_rate=STORM_QUEUE_RATE
    )
    log(
        f"{result.name}: {events:,} events, {STORM_CONNECTIONS} connections, postgres, "
        f"{STORM_WORKERS} workers, unpaced"
    )
    _storm(result, {**QUEUE_MODE, "BOOKPAY_WEBHOOK_QUEUE_RATE": str(STORM_QUEUE_RATE)}, checks)
    return result


def measure_queue_storm_under_latency(events: int, checks: Checks) -> StormResult:
    """The storm under the latency scenario's gateway latency (one worker, so that the
    fake's timings count every call) in queue mode at the default pace: how soon Stripe
    hears back, and how fast the worker then calls the gateway."""
    result = StormResult(
        events,
        workers=STORM_LATENCY_WORKERS,
        name="webhook storm in queue mode under gateway latency",
        latency_ms=(LATENCY_P50_MS, LATENCY_P99_MS),
        mode="queue",
    )
    log(
        f"{result.name}: {events:,} events, {STORM_CONNECTIONS} connections, postgres, "
        f"{STORM_LATENCY_WORKERS} worker, p50 {LATENCY_P50_MS} ms, the default pace "
        f"({DEFAULT_QUEUE_RATE}/s): a drain of about {events / DEFAULT_QUEUE_RATE:.0f} s"
    )
    _storm(result, {**_latency_env(), **QUEUE_MODE}, checks)
    return result


def _latency_env() -> dict[str, str]:
    return {
        "BOOKPAY_FAKE_STRIPE_LATENCY_MS": f"{LATENCY_P50_MS},{LATENCY_P99_MS}",
        "BOOKPAY_FAKE_STRIPE_POOL_SIZE": str(LATENCY_FAKE_STRIPE_POOL),
    }


def expected_storm_seconds(events: int, p50_ms: float, connections: int) -> float:
    """About how long, in seconds, a storm of `events` plus DUPLICATE_SHARE duplicates
    waits for the gateway alone when every request waits one call of the median `p50_ms`
    and `connections` connections each send one request at a time (the mean delay of a
    long tail is longer: a guide for sizing, not a bound)."""
    requests = events / (1 - DUPLICATE_SHARE)
    return requests * p50_ms / 1000 / connections


def _storm(result: StormResult, extra_env: dict[str, str], checks: Checks) -> None:
    """Serve a throwaway database, seed `result.events` pending bookings, send the storm
    until all are in, redeliver what was not applied, and check: no errors, every event
    sent, no pool timeout, exactly once and the seats in the database; in queue mode after
    the drain (bench/queue_drain.py), which it checks too. Under latency, also
    the fake's calls during the storm and during a duplicates-only pass."""
    with throwaway_database("postgres") as url:
        port = free_port()
        command = bookpay_command(port, result.workers)
        server = start_server("bookpay", command, {**server_env(url, port), **extra_env}, port)
        try:
            tenant = set_up_tenant(server, "storm-studio")
            pending = with_engine(
                url, lambda engine: seed_pending_bookings(engine, tenant, result.events)
            )
            plan = webhook_plan(server, pending, result.name, WEBHOOK_SECRET, DUPLICATE_SHARE)
            # Closed loop until the source is exhausted; the time bound only stops a stall.
            drain = LoadSettings(seconds=600.0, warmup=0.0, connections=result.connections)
            # Beside it, where its requests waited: the workers' event loops and admission
            # lines (their health probes), PostgreSQL's sessions (bench/watch.py).
            watch = WatchTarget(url, activity=True, readiness_port=server.port)
            before = fake_stripe_timings(server) if result.latency_ms else {}
            measured = run_load(drain, plan, server, watch)
            result.figure = measured["summary"]
            result.outcomes = dict(measured.get("outcomes") or {})
            if result.mode == "queue":
                settle_queue(result, url, measured, checks)
            if result.latency_ms:
                result.gateway["storm"] = timings_spent(before, fake_stripe_timings(server))
                result.drawn = drawn_delays(server, int(before.get("calls", 0)))
                check_latency_injected(result, checks)
            checks.no_errors(measured, result.name)
            checks.expect(
                measured["events_sent"] == result.events,
                f"{result.name}: all {result.events:,} events sent ({measured['events_sent']:,})",
            )
            sent = measured["sent_booking_ids"]
            again = (
                _redeliver(result, server, url, tenant, pending, sent, checks)
                if result.mode == "apply" or measured["errors"]
                else []
            )
            if result.latency_ms and result.mode == "apply":
                again.append(_duplicates_only(result, server, pending, sent, checks))
            checks.no_pool_timeout(server, [measured, *again], result.name)
        finally:
            stop_server(server)
        check_storm_database(result, url, tenant, sent, len(pending), checks)


def check_latency_injected(result: StormResult, checks: Checks) -> None:
    """Fails the run when the storm under latency met no delay: its figures would then be
    the zero-latency storm's again, under another name."""
    drawn = result.drawn
    checks.expect(
        bool(drawn) and drawn.get("injected_p50_ms", 0.0) > 0,
        f"{result.name}: the gateway's latency was injected "
        f"({drawn.get('calls', 0):,.0f} calls, drawn p50 {drawn.get('injected_p50_ms', 0.0):.0f} "
        "ms)",
    )


def _duplicates_only(
    result: StormResult,
    server: Server,
    pending: list[dict[str, Any]],
    sent: list[str],
    checks: Checks,
) -> dict[str, Any]:
    """A fifth of the storm's events once more, on the storm's connections: every request
    a duplicate of an applied event. The fake's calls over it, per request, are what a
    duplicate costs the gateway (with or without the inbox consulted first)."""
    applied = set(sent)
    again = [booking for booking in pending if booking["booking_id"] in applied]
    again = again[: max(len(again) // 5, 1)]
    label = f"{result.name}: duplicates only"
    plan = webhook_plan(server, again, label, WEBHOOK_SECRET, 0.0)
    before = fake_stripe_timings(server)
    measured = run_load(LoadSettings(300.0, 0.0, result.connections), plan, server)
    result.gateway["duplicates_only"] = timings_spent(before, fake_stripe_timings(server))
    result.duplicates_only = measured["summary"]
    checks.no_errors(measured, f"{label} ({len(again):,} events)")
    return measured


def check_storm_database(
    result: StormResult, url: str, tenant: BenchTenant, sent: list[str], seeded: int, checks: Checks
) -> None:
    """After the storm, in its database: every event applied exactly once, and every slot's
    seats counted as its bookings hold and own them, none over capacity."""
    result.check = with_engine(
        url, lambda engine: check_webhooks_applied(engine, tenant, sent, seeded)
    )
    log(f"  {result.name} exactly once: {result.check.exactly_once} {result.check}")
    checks.expect(
        result.check.exactly_once,
        f"{result.name} applied exactly once (one confirmation, charge, inbox row, seat "
        "booked and booking.confirmed event out per event sent)",
    )
    checks.seats_match_bookings(with_engine(url, audit_seats), result.name)


def _redeliver(
    result: StormResult,
    server: Server,
    url: str,
    tenant: BenchTenant,
    pending: list[dict[str, Any]],
    sent: list[str],
    checks: Checks,
) -> list[dict[str, Any]]:
    """As Stripe does: an event not acknowledged with a 2xx is sent again later. Events whose
    booking is still pending after the storm (answered 5xx; in queue mode, run only when
    some answer was an error, after the queue drained, since an acknowledged event is never
    sent again and one lost must show in the exactly-once check) are re-sent, up to
    STORM_RETRIES times, so that the exactly-once check covers every event. Each
    redelivery must answer without error (its figures returned for the pool check)."""
    by_id = {booking["booking_id"]: booking for booking in pending}
    measured: list[dict[str, Any]] = []
    for attempt in range(STORM_RETRIES):
        left = with_engine(url, lambda engine: still_pending(engine, tenant.tenant_id, sent))
        if not left:
            break
        result.redelivered.append(len(left))
        again = [by_id[booking_id] for booking_id in sent if booking_id in left]
        label = f"{result.name}: redelivery {attempt + 1}"
        plan = webhook_plan(server, again, label, WEBHOOK_SECRET, 0.0)
        figure = run_load(LoadSettings(seconds=300.0, warmup=0.0, connections=8), plan, server)
        checks.no_errors(figure, f"{label} ({len(again):,} events)")
        measured.append(figure)
        if result.mode == "queue":
            wait_for_drain(url)
    return measured
