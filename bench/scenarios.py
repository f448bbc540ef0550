"""The loads production brings (issue 19), on PostgreSQL with one worker:

- Stripe's latency: the fake gateway answers after a log-normal delay (p50 300 ms, p99
  1.2 s; BOOKPAY_FAKE_STRIPE_LATENCY_MS) while 256 customers check out at once on the
  default pool, then half as many (the p99 then shows whether anything waits beyond the
  gateway: a connection or transaction held across the call would queue everyone else);
  then the same customers race for the last seats of a scarce offering (every seat sold,
  none twice).
- A webhook storm: 10,000 completion events plus 20 % duplicates on 64 connections, sent
  until all are delivered, then checked in the database (exactly once); then a smaller one
  (2,000 events) with the gateway answering after the latency above, on one worker, and
  the fake's calls counted for new events and duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.sql.database import DEFAULT_POSTGRES_POOL_SIZE
from bench.checks import (
    Checks,
    WebhookCheck,
    audit_seats,
    check_webhooks_applied,
    seats_taken,
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
from bench.seed import BenchTenant, seed_pending_bookings
from bench.server_phases import percentile_ms
from bench.servers import Server, bookpay_command, server_env, start_server, stop_server
from bench.shop import add_scarce_offering, checkout_plan, set_up_tenant, webhook_plan
from bench.watch import WatchTarget
from entrypoints.config import DEFAULT_MAX_REQUESTS_IN_FLIGHT

LATENCY_P50_MS = 300
LATENCY_P99_MS = 1200
CUSTOMERS = 256
SCARCE_SLOTS, SCARCE_SEATS = 20, 5
# The fake Stripe's own pool under the latency figures (BOOKPAY_FAKE_STRIPE_POOL_SIZE): it
# stands for Stripe, which never queues for a connection of ours, so it must not queue here
# (with its default 10 it did: bench/findings.md). Sized for the figure's one worker within
# PostgreSQL's 100 connections, which every database on the server shares: 20 (the app's
# pool) + 40 + the watch's and the readiness probe's 2. The 2-worker scenarios keep the
# default (two processes of 20 + 10).
LATENCY_FAKE_STRIPE_POOL = 40
# No more than HELD_SAMPLE_SHARE of the samples of pg_stat_activity may show a transaction
# this old while checkouts wait for Stripe (Checks.no_transaction_across_gateway). One held
# across a call lives as long as the call, and is past twice the injected median during 8 %
# of a call's time on average (the injected distribution; report_latency.share_held_past):
# with every pooled connection's transaction held across its call, 1 - 0.92^20 = 81 % of the
# samples would show one, and 8 % even with one connection at a time. A checkout's own
# transactions, a few statements each, stay well below the limit, save one stretched past
# it now and then by an event loop starved of CPU (bench/findings.md), which this share lets
# pass.
TRANSACTION_LIMIT_MS = 2 * LATENCY_P50_MS
HELD_SAMPLE_SHARE = 0.05
STORM_CONNECTIONS = 64
# Both cores' workers, as a deployment on this machine runs: duplicates of one event then
# reach two processes at once, so the exactly-once check covers the inbox across processes.
STORM_WORKERS = 2
STORM_RETRIES = 3


@dataclass
class LatencyResult:
    p50_ms: int = LATENCY_P50_MS
    p99_ms: int = LATENCY_P99_MS
    customers: int = CUSTOMERS
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    seats: tuple[int, int] = (0, 0)  # (taken, offered) of the scarce offering
    started: int = 0  # checkouts answered 201 on the scarce offering
    fake_pool: int = LATENCY_FAKE_STRIPE_POOL
    # Bookpay's own pool: the server is started without a pool setting, so the default.
    pool: int = DEFAULT_POSTGRES_POOL_SIZE
    # Its admission line's places (BOOKPAY_MAX_REQUESTS_IN_FLIGHT, not set: the default).
    places: int = DEFAULT_MAX_REQUESTS_IN_FLIGHT
    transaction_limit_ms: int = TRANSACTION_LIMIT_MS
    held_sample_share: float = HELD_SAMPLE_SHARE
    # Per figure ("full", "half"): the fake Stripe's own timings over it (warm-up included),
    # the difference of two readings of GET /fake-stripe/timings (adapters/fake_stripe/timings.py).
    gateway: dict[str, dict[str, float]] = field(default_factory=dict)
    # Per figure: the delays the fake drew in it and its calls' whole times, call by call
    # (GET /fake-stripe/timings/samples): "injected_p50_ms", "injected_p99_ms",
    # "call_p99_ms", "calls".
    drawn: dict[str, dict[str, float]] = field(default_factory=dict)

    def per_call(self, key: str) -> dict[str, float] | None:
        """Figure `key`'s gateway calls, in milliseconds per call: in all, the delay
        injected, waiting for the fake's pool, holding its connections (its statements), and
        the rest (its own Python and its turns on the event loop); and how many calls and
        connections per call. None when not read or no call was made."""
        spent = self.gateway.get(key) or {}
        calls = spent.get("calls", 0.0)
        if not calls:
            return None
        each = {
            name: 1000 * spent[f"{name}_seconds"] / calls
            for name in ("call", "injected", "pool_wait", "holding")
        }
        each["rest"] = each["call"] - each["injected"] - each["pool_wait"] - each["holding"]
        each["calls"] = calls
        each["connections_per_call"] = spent["connections"] / calls
        return each


def measure_gateway_latency(load: LoadSettings, checks: Checks) -> LatencyResult:
    result = LatencyResult()
    log(f"gateway latency p50 {result.p50_ms} ms, p99 {result.p99_ms} ms: postgres, 1 worker")
    # Connections open gradually under the first answers' delay: a longer warm-up. The
    # gateway's long tail makes these the noisiest figures: twice the measured time.
    full = LoadSettings(2 * load.seconds, max(load.warmup, 3.0), CUSTOMERS)
    half = LoadSettings(2 * load.seconds, max(load.warmup, 3.0), CUSTOMERS // 2)
    with throwaway_database("postgres") as url:
        port = free_port()
        env = {
            **server_env(url, port),
            "BOOKPAY_FAKE_STRIPE_LATENCY_MS": f"{result.p50_ms},{result.p99_ms}",
            "BOOKPAY_FAKE_STRIPE_POOL_SIZE": str(result.fake_pool),
        }
        server = start_server("bookpay", bookpay_command(port, 1), env, port)
        try:
            tenant = set_up_tenant(server, "latency-studio")
            for key, settings in (("full", full), ("half", half)):
                label = f"checkout, {settings.connections} customers, gateway latency"
                # At half load, pg_stat_activity too: does a transaction stay open across
                # the gateway's wait, or do requests wait for the worker?
                watch = WatchTarget(
                    url,
                    activity=True,
                    readiness_port=server.port,
                    transaction_limit_ms=result.transaction_limit_ms,
                )
                plan = checkout_plan(server, tenant, label)
                before = fake_stripe_timings(server)
                measured = run_load(settings, plan, server, watch)
                result.gateway[key] = _spent(before, fake_stripe_timings(server))
                result.drawn[key] = drawn_delays(server, int(before.get("calls", 0)))
                result.figures[key] = measured["summary"]
                checks.no_errors(measured, f"checkout under gateway latency ({key} load)")
                checks.no_transaction_across_gateway(
                    measured["summary"].get("database", {}),
                    result.transaction_limit_ms,
                    f"checkout under gateway latency ({key} load)",
                    result.held_sample_share,
                )
            scarce = add_scarce_offering(server, tenant, SCARCE_SLOTS, SCARCE_SEATS)
            race = checkout_plan(server, scarce, "last seats, 256 customers, gateway latency")
            race["expected"] = [201, 409]
            measured = run_load(LoadSettings(3.0, 0.0, CUSTOMERS), race, server)
            result.figures["race"] = measured["summary"]
            checks.no_errors(measured, "race for the last seats")
            result.started = int(measured["statuses"].get("201", 0))
            checks.no_pool_timeout(server, list(result.figures.values()), "gateway latency")
        finally:
            stop_server(server)
        result.seats = with_engine(
            url, lambda engine: seats_taken(engine, tenant.tenant_id, scarce.offering_id)
        )
        taken, offered = result.seats
        checks.last_seats_sold(result.started, taken, offered, CUSTOMERS)
        audit = with_engine(url, audit_seats)
        checks.seats_match_bookings(audit, "gateway latency and the race for the last seats")
    return result


def fake_stripe_timings(server: Server) -> dict[str, float]:
    """The fake Stripe's sums so far in the server's (one) process."""
    answer = httpx.get(f"http://127.0.0.1:{server.port}/fake-stripe/timings", timeout=30)
    answer.raise_for_status()
    return {key: float(value) for key, value in answer.json().items()}


def drawn_delays(server: Server, since: int) -> dict[str, float]:
    """The percentiles of the delays the fake drew from its `since`-th call on, and of
    those calls' whole times, in ms ({} when none)."""
    answer = httpx.get(
        f"http://127.0.0.1:{server.port}/fake-stripe/timings/samples",
        params={"since": since},
        timeout=30,
    )
    answer.raise_for_status()
    samples = answer.json()
    injected, calls = samples["injected_seconds"], samples["call_seconds"]
    if not injected:
        return {}
    return {
        "calls": len(injected),
        "injected_p50_ms": percentile_ms(injected, 0.50),
        "injected_p99_ms": percentile_ms(injected, 0.99),
        "call_p99_ms": percentile_ms(calls, 0.99),
    }


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before.get(key, 0.0) for key in after}


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
    env = {
        "BOOKPAY_FAKE_STRIPE_LATENCY_MS": f"{LATENCY_P50_MS},{LATENCY_P99_MS}",
        "BOOKPAY_FAKE_STRIPE_POOL_SIZE": str(LATENCY_FAKE_STRIPE_POOL),
    }
    _storm(result, env, checks)
    return result


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
    sent, no pool timeout, exactly once and the seats in the database. Under latency, also
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
            if result.latency_ms:
                result.gateway["storm"] = _spent(before, fake_stripe_timings(server))
                result.drawn = drawn_delays(server, int(before.get("calls", 0)))
                check_latency_injected(result, checks)
            checks.no_errors(measured, result.name)
            checks.expect(
                measured["events_sent"] == result.events,
                f"{result.name}: all {result.events:,} events sent ({measured['events_sent']:,})",
            )
            sent = measured["sent_booking_ids"]
            again = _redeliver(result, server, url, tenant, pending, sent, checks)
            if result.latency_ms:
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
    result.gateway["duplicates_only"] = _spent(before, fake_stripe_timings(server))
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
    booking is still pending after the storm (answered 5xx) are re-sent, up to
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
    return measured
