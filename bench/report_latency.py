"""The section "Where a checkout's time went under Stripe's latency" (`latency_queue`): at
full and at half load, the time per checkout by Little's law, the fake's call, the worker's
CPU, the admission line and the event loop from the server's own probes; and whether a
transaction was held across a call to Stripe, from pg_stat_activity."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

from bench.report_costs import _bound, bound_by, per_request
from bench.report_sections import Lines
from bench.scenarios import LatencyResult
from bench.server_phases import bound_words, phase_clauses
from bench.stripe_limits import RATE_LIMITS, STRIPE_RATE_LIMITS_URL

LATENCY_QUEUE_TITLE = "Where a checkout's time went under Stripe's latency"

# The 99th percentile of the standard normal distribution.
_Z99 = 2.3263478740408408
# The phases in which a checkout holds its place in the admission line: the gateway call
# steps out of it (StepsOutForStripe) and a request waiting in line holds none
# (entrypoints/http/admission.py).
PLACE_HELD_PHASES = ("connection_wait", "unit_of_work", "rest")
# A figure at this share of its line's bound or more is taken as bound by the line.
LINE_BOUND_SHARE = 0.8


def _sigma(p50_ms: float, p99_ms: float) -> float:
    return math.log(p99_ms / p50_ms) / _Z99


def gateway_mean_ms(p50_ms: float, p99_ms: float) -> float:
    """The mean of the fake's log-normal delay with this median and 99th percentile."""
    sigma = _sigma(p50_ms, p99_ms)
    return p50_ms * math.exp(sigma * sigma / 2)


def share_longer(p50_ms: float, p99_ms: float, ms: float) -> float:
    """The share of the fake's delays longer than `ms`."""
    return 1 - NormalDist().cdf(math.log(ms / p50_ms) / _sigma(p50_ms, p99_ms))


def share_held_past(p50_ms: float, p99_ms: float, ms: float) -> float:
    """The share of the time of the fake's calls spent past `ms` into the call: what share
    of a sampler's looks would find a transaction held across one call older than `ms`
    (E[(delay - ms)+] / E[delay] of the log-normal delay)."""
    sigma = _sigma(p50_ms, p99_ms)
    above = (math.log(p50_ms / ms) + sigma * sigma) / sigma
    normal = NormalDist()
    return normal.cdf(above) - ms / gateway_mean_ms(p50_ms, p99_ms) * normal.cdf(above - sigma)


def line_and_loop(
    ready: dict[str, Any],
    rps: float,
    beyond_ms: float,
    worker_ms: float,
    counted: bool = False,
) -> str:
    """Where the time beyond the gateway went, from the server's own health probes read
    beside the load (bench/watch.py): the admission line by Little's law, the event loop's
    queue by a request that needs nothing else. `counted`: the server's own count per
    checkout follows (`counted_phases`), so the rest is not left as an estimate."""
    line_ms = 1000 * float(ready["mean_waiting"]) / max(rps, 1e-9)
    loop_ms = float(ready["live_mean_ms"])
    rest = beyond_ms - worker_ms - line_ms
    turns = (
        "estimates from these averages; the server's own count per checkout, next, "
        "measures each phase"
        if counted
        else f"not measured apart: divided by that `/health/live` time they make "
        f"~{rest / loop_ms:.0f} waits of its length, an estimate from two averages and not a "
        "count of the turns a checkout takes on the loop (each statement's answer, the "
        "gateway's, the answer to the customer; how long each of them waited is not measured)"
        if rest > 0 and loop_ms > 0
        else "nothing left to explain"
    )
    return (
        f"The server's `/health/ready`, read every 0.1 s at most ({ready['samples']} samples): "
        f"on average {float(ready['mean_in_flight']):.1f} requests at work and "
        f"{float(ready['mean_waiting']):.1f} waiting in the admission line (at most "
        f"{ready['most_waiting']}); by Little's law at {rps:.0f} checkouts/s a checkout spent "
        f"about {line_ms:.0f} ms in that line (for its first place, and for one again when "
        "Stripe's answer came back). Its `/health/live`, which waits for no place and needs "
        f"nothing but the event loop, took {loop_ms:.0f} ms on average (p50 "
        f"{float(ready['live_p50_ms']):.0f} ms): the loop's queue as each step of a checkout "
        f"meets it. Of the ~{beyond_ms:.0f} ms beyond the gateway call, {worker_ms:.0f} ms "
        f"were the worker's CPU and ~{line_ms:.0f} ms the line; the other ~{max(rest, 0):.0f} "
        f"ms are {turns}.\n"
    )


def held_across_calls(
    activity: dict[str, Any], result: LatencyResult, fig: dict[str, Any], call_ms: float
) -> str:
    """pg_stat_activity during the half-load figure, and why the run's check that few of
    its samples showed a transaction older than `result.transaction_limit_ms` shows that
    none was held across a call to Stripe (Checks.no_transaction_across_gateway)."""
    mean_states, most = activity["mean"], activity["most"]
    oldest = float(activity["oldest_transaction_ms"])
    waits = ", ".join(f"{k} ({v})" for k, v in activity["active_waits"].items()) or "none"
    samples = int(activity["samples"])
    over = int(activity.get("samples_over_limit", 0))
    wall = float((fig.get("database") or {}).get("wall_seconds") or 0.0)
    interval_ms = 1000 * wall / max(samples, 1)
    limit = result.transaction_limit_ms
    held = share_held_past(result.p50_ms, result.p99_ms, limit)
    everyone = 1 - (1 - held) ** result.pool
    text = (
        f"pg_stat_activity, sampled beside the load ({samples} samples in {wall:.1f} s, one "
        f"every {interval_ms:.0f} ms on average) on "
        "this database (Bookpay's pool and the fake Stripe's): on average "
        f"{mean_states.get('active', 0.0):.1f} connections active, "
        f"{mean_states.get('idle in transaction', 0.0):.1f} idle in a transaction and "
        f"{mean_states.get('idle', 0.0):.1f} idle; at most {most.get('active', 0)} active "
        f"and {most.get('idle in transaction', 0)} idle in a transaction in one sample. "
        f"The oldest open transaction seen was {oldest:.0f} ms old, and {over} of the "
        f"{samples} samples showed one older than {limit} ms; active connections "
        f"waited on: {waits}. The run asserts, for both latency figures, that at most "
        f"{100 * result.held_sample_share:.0f} % of the samples (and always one) show a "
        f"transaction older than {limit} ms (correctness checks): one held across a call "
        "lives as long as the call, and by the injected distribution (log-normal, p50 "
        f"{result.p50_ms} ms, p99 {result.p99_ms} ms; not counted) a call spends "
        f"{100 * held:.1f} % of its time past {limit} ms, so with a transaction held across "
        f"the call of every one of the pool's {result.pool} connections about "
        f"{100 * everyone:.0f} % of the samples would show one, and {100 * held:.0f} % with "
        "a single connection at a time; a checkout's own transaction stretched past the "
        "limit by a starved event loop shows in a sample or two. A connection checked out "
        "of the pool outside a transaction "
        "is not visible here: tests/integration/http/test_no_connection_across_gateway.py "
        "asserts that none is held across a call"
    )
    if call_ms <= 0:
        return text + ".\n"
    bound = 1000 * result.pool / call_ms
    return (
        text + f"; and had every checkout held one of the pool's {result.pool} "
        f"across its {call_ms:.0f} ms call, at most {bound:.0f} checkouts/s could have run, "
        f"not {fig['rps']:.0f}.\n"
    )


def latency_queue(out: Lines, result: LatencyResult) -> None:
    """Where a checkout's time went at full load (the 80 % target's figure) and at half load
    (the p99 target's): the gateway's wait, the worker's CPU, and the queue; and whether a
    transaction stayed open across the gateway's wait."""
    loads = [key for key in ("full", "half") if key in result.figures]
    if not loads:
        return
    add = out.append
    add(f"### {LATENCY_QUEUE_TITLE}\n")
    for key in loads:
        add(_time_went(result, key))
    full = result.figures.get("full")
    if full is not None:
        add(
            bound_by(
                f"At full load ({result.customers} customers, {full['rps']:.0f} "
                "checkouts/s, the 80 % target's figure)",
                full,
                "checkout",
            )
            + "\n"
        )
    fig = result.figures.get("half")
    if fig is None:
        return
    activity = (fig.get("database") or {}).get("activity")
    if not activity:
        add("pg_stat_activity was not sampled in the half-load figure.\n")
        return
    call = result.per_call("half")
    gateway = call["call"] if call else gateway_mean_ms(result.p50_ms, result.p99_ms)
    add(held_across_calls(activity, result, fig, gateway))


def _time_went(result: LatencyResult, key: str) -> str:
    """One load's checkout time by Little's law, split into the fake's measured call, the
    worker's CPU, and (from the server's readiness, when sampled) the admission line."""
    fig = result.figures[key]
    call = result.per_call(key)
    gateway = call["call"] if call else gateway_mean_ms(result.p50_ms, result.p99_ms)
    customers = result.customers if key == "full" else result.customers // 2
    target = "the 80 % target's figure" if key == "full" else "the p99 target's figure"
    mean = float(fig.get("mean_ms") or 0.0)
    little = 1000 * customers / max(fig["rps"], 1e-9)
    worker_ms = per_request(fig)["worker_ms"] or 0.0
    server = float(fig["server_cpu_share"])
    bound = _bound(server, float(fig["machine"]["idle"]))
    beyond = mean - gateway
    text = (
        f"**At {'full' if key == 'full' else 'half'} load ({target}).** {customers} customers "
        f"in a closed loop at {fig['rps']:.0f} checkouts/s: by Little's law each checkout "
        f"took {little:.0f} ms on average (measured mean {mean:.0f} ms). "
        + (
            f"A call to the fake Stripe took {gateway:.0f} ms on average, timed inside it "
            f"({call['injected']:.0f} ms injected, {call['pool_wait'] + call['holding']:.0f} "
            "ms its own pool and statements: the table above)"
            if call
            else f"The fake's delay is expected to average {gateway:.0f} ms (the mean of its "
            f"log-normal, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms; the fake's own "
            "timings were not read for this figure)"
        )
        + f", so a checkout spent about {beyond:.0f} ms in Bookpay beyond the gateway "
        f"call, of which {worker_ms:.1f} ms "
        f"was the worker's own CPU per checkout. The worker used {server:.2f} of a core and "
        f"the machine had {fig['machine']['idle']:.2f} idle cores"
        + (
            f": the worker was saturated, so the other ~{beyond - worker_ms:.0f} ms were "
            "spent waiting for it (the admission line and the event loop's queue), not for "
            "the gateway."
            if bound == "worker"
            else f": the machine was full (the worker got {server:.2f} of a core), so the "
            f"other ~{beyond - worker_ms:.0f} ms were spent waiting for a core (the admission "
            "line and the event loop's queue), not for the gateway."
            if bound == "machine"
            else ": neither was full, so the wait beyond the CPU is elsewhere (see below)."
        )
        + (f" {_against_injected(float(fig['p99_ms']), result.p99_ms)}" if key == "half" else "")
        + "\n"
    )
    ready = (fig.get("database") or {}).get("readiness")
    phases = fig.get("phases")
    counted = (
        counted_phases(phases, result.drawn.get(key) or {}, float(fig["p99_ms"]), mean)
        if phases and "whole" in phases
        else ""
    )
    if counted and phases:
        bound = places_bound(phases, result.places, float(fig["rps"]))
        counted += bound + ("\n" if bound else "")
    if key == "full":
        counted += stripe_rate_limit(sessions_per_second(fig)) + "\n"
    if ready:
        return (
            text
            + line_and_loop(ready, float(fig["rps"]), beyond, worker_ms, bool(counted))
            + counted
        )
    return (
        text
        + (
            ""
            if counted
            else "The server's readiness (the admission line) was not sampled in this figure: "
            "the time beyond the call and the worker's CPU is not split further.\n"
        )
        + counted
    )


def counted_phases(
    phases: dict[str, Any], drawn: dict[str, float], client_p99_ms: float, client_mean_ms: float
) -> str:
    """The server's own count of where each checkout's time went (bench/server_phases.py):
    each phase's mean, summing to the whole, and each phase's p99 (a bucket's bound);
    with the delays the fake drew in the figure."""
    whole = phases["whole"]
    means, p99s, total = phase_clauses(phases, 0)
    text = (
        f"Counted per checkout by the server itself (its `/metrics` histograms "
        "`bookpay_http_request_duration_seconds` and `bookpay_http_request_phase_seconds`, "
        f"read before and after the figure, warm-up included: {phases['requests']:,.0f} "
        f"requests of {phases['route']}): a checkout spent {whole['mean_ms']:.0f} ms in the "
        f"server on average (the load generator measured {client_mean_ms:.0f} ms), of which "
        f"{means} (together {total:.0f} ms). The p99 of each phase, bounded by its "
        f"histogram's bucket: the whole {bound_words(whole['p99_ms'])} (the load generator's p99 "
        f"{client_p99_ms:.0f} ms), {p99s}."
    )
    if drawn:
        gateway = phases.get("gateway_call")
        seen = f"; as the app saw it, p99 {bound_words(gateway['p99_ms'])}" if gateway else ""
        text += (
            f" The fake drew {drawn['calls']:,.0f} delays in this figure: p50 "
            f"{drawn['injected_p50_ms']:.0f} ms, p99 {drawn['injected_p99_ms']:.0f} ms; its "
            f"calls took p99 {drawn['call_p99_ms']:.0f} ms timed inside it{seen}."
        )
    return text + "\n"


def places_bound(phases: dict[str, Any], places: int, rps: float) -> str:
    """The most checkouts per second the admission line can pass (Little's law: its places
    over the time a checkout holds one, from the server's own count), against the rate
    measured; "" when the phases that hold a place were not counted."""
    held = [float(phases[name]["mean_ms"]) for name in PLACE_HELD_PHASES if name in phases]
    if len(held) < len(PLACE_HELD_PHASES) or sum(held) <= 0 or places <= 0:
        return ""
    per_checkout = sum(held)
    bound = 1000 * places / per_checkout
    share = rps / bound
    verdict = (
        "the line bounds this figure: the checkouts beyond its rate wait for a place"
        if share >= LINE_BOUND_SHARE
        else f"the line does not bound this figure (below {100 * LINE_BOUND_SHARE:.0f} % "
        "of its bound)"
    )
    return (
        "A checkout holds its place in the admission line while it waits for a pooled "
        "connection, works in its units of work and runs the rest (the gateway call steps "
        "out of it, and a wait in line holds none): "
        + " + ".join(f"{value:.0f}" for value in held)
        + f" = {per_checkout:.0f} ms per checkout, counted above. With the {places} places "
        "of one worker (`BOOKPAY_MAX_REQUESTS_IN_FLIGHT`, its default), the line passes at "
        f"most {bound:.0f} checkouts/s (places over time held, Little's law); measured "
        f"{rps:.0f} checkouts/s ({100 * share:.0f} % of that bound): {verdict}."
    )


def sessions_per_second(fig: dict[str, Any]) -> float:
    """Checkout Sessions a figure created per second: its checkouts answered 201 (each
    created one) over its measured seconds."""
    created = float((fig.get("statuses") or {}).get("201", 0))
    return created / max(float(fig.get("seconds") or 0.0), 1e-9) if created else 0.0


def stripe_rate_limit(created: float) -> str:
    """`created` Checkout Sessions per second against Stripe's default live-mode rate limits
    (bench/stripe_limits.py): creating sessions is one endpoint, so the tighter limit binds."""
    source = f"Stripe's default live-mode rate limits ({STRIPE_RATE_LIMITS_URL})"
    over = [(name, limit) for name, limit in RATE_LIMITS if created > limit]
    if not over:
        return f"{created:.0f} Checkout Sessions created per second: within {source}."
    readings = "; ".join(
        f"{created / limit:.1f} × {name} ({limit}/s)"
        if created > limit
        else f"within {name} ({limit}/s)"
        for name, limit in RATE_LIMITS
    )
    return (
        f"{created:.0f} Checkout Sessions created per second against {source}: {readings}. "
        "Real Stripe would have answered the excess 429 (Bookpay's gateway retries, then "
        "answers 503), so this rate measures Bookpay, not what Stripe would allow one account "
        "without a raised limit."
    )


def _against_injected(p99_ms: float, injected_ms: float) -> str:
    """The figure's p99 against the injected p99, worded for either side of it."""
    gap = p99_ms - injected_ms
    if gap >= 0:
        return f"p99 {p99_ms:.0f} ms exceeds the injected p99 by {gap:.0f} ms."
    return f"p99 {p99_ms:.0f} ms is {-gap:.0f} ms below the injected p99 ({injected_ms:.0f} ms)."
