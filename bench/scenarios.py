"""Stripe's latency (issue 19), on PostgreSQL with one worker: the fake gateway answers
after a log-normal delay (p50 300 ms, p99 1.2 s; BOOKPAY_FAKE_STRIPE_LATENCY_MS) while 256
customers check out at once on the default pool, then half as many (the p99 then shows
whether anything waits beyond the gateway: a connection or transaction held across the
call would queue everyone else); then the same customers race for the last seats of a
scarce offering (every seat sold, none twice). The webhook storms, under the same latency
too, are bench/storms.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.sql.database import DEFAULT_POSTGRES_POOL_SIZE
from bench.checks import Checks, audit_seats, seats_taken
from bench.common import free_port, log, throwaway_database, with_engine
from bench.load import LoadSettings, run_load
from bench.server_phases import percentile_ms
from bench.servers import Server, bookpay_command, server_env, start_server, stop_server
from bench.shop import add_scarce_offering, checkout_plan, set_up_tenant
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
                result.gateway[key] = timings_spent(before, fake_stripe_timings(server))
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


def timings_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before.get(key, 0.0) for key in after}
