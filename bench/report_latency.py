"""Parts of "Where a checkout's time went under Stripe's latency" (bench/report_costs.py
`latency_queue`): the admission line and the event loop from the server's own probes, and
whether a transaction was held across a call to Stripe, from pg_stat_activity."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

from bench.scenarios import LatencyResult

# The 99th percentile of the standard normal distribution.
_Z99 = 2.3263478740408408


def _sigma(p50_ms: float, p99_ms: float) -> float:
    return math.log(p99_ms / p50_ms) / _Z99


def gateway_mean_ms(p50_ms: float, p99_ms: float) -> float:
    """The mean of the fake's log-normal delay with this median and 99th percentile."""
    sigma = _sigma(p50_ms, p99_ms)
    return p50_ms * math.exp(sigma * sigma / 2)


def share_longer(p50_ms: float, p99_ms: float, ms: float) -> float:
    """The share of the fake's delays longer than `ms`."""
    return 1 - NormalDist().cdf(math.log(ms / p50_ms) / _sigma(p50_ms, p99_ms))


def line_and_loop(ready: dict[str, Any], rps: float, beyond_ms: float, worker_ms: float) -> str:
    """Where the time beyond the gateway went, from the server's own health probes read
    beside the load (bench/watch.py): the admission line by Little's law, the event loop's
    queue by a request that needs nothing else."""
    line_ms = 1000 * float(ready["mean_waiting"]) / max(rps, 1e-9)
    loop_ms = float(ready["live_mean_ms"])
    rest = beyond_ms - worker_ms - line_ms
    turns = (
        f"not measured apart: divided by that `/health/live` time they make ~{rest / loop_ms:.0f} "
        "waits of its length, an estimate from two averages and not a count of the turns a "
        "checkout takes on the loop (each statement's answer, the gateway's, the answer to "
        "the customer; how long each of them waited is not measured)"
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
    """pg_stat_activity during the half-load figure, and why the run's check that no
    transaction outlived `result.transaction_limit_ms` shows that none was held across a
    call to Stripe (Checks.no_transaction_across_gateway)."""
    mean_states, most = activity["mean"], activity["most"]
    oldest = float(activity["oldest_transaction_ms"])
    waits = ", ".join(f"{k} ({v})" for k, v in activity["active_waits"].items()) or "none"
    samples = int(activity["samples"])
    wall = float((fig.get("database") or {}).get("wall_seconds") or 0.0)
    interval_ms = 1000 * wall / max(samples, 1)
    limit = result.transaction_limit_ms
    share = share_longer(result.p50_ms, result.p99_ms, limit + interval_ms)
    calls = (result.per_call("half") or {}).get("calls")
    outlasting = f" (about {share * calls:.0f} of the figure's {calls:,.0f} calls)" if calls else ""
    text = (
        f"pg_stat_activity, sampled beside the load ({samples} samples in {wall:.1f} s) on "
        "this database (Bookpay's pool and the fake Stripe's): on average "
        f"{mean_states.get('active', 0.0):.1f} connections active, "
        f"{mean_states.get('idle in transaction', 0.0):.1f} idle in a transaction and "
        f"{mean_states.get('idle', 0.0):.1f} idle; at most {most.get('active', 0)} active "
        f"and {most.get('idle in transaction', 0)} idle in a transaction in one sample. "
        f"The oldest open transaction seen was {oldest:.0f} ms old; active connections "
        f"waited on: {waits}. The run asserts, for both latency figures, that no open "
        f"transaction reached {limit} ms (correctness checks): one held across a call lives "
        f"as long as the call; the samples came every {interval_ms:.0f} ms on average, and "
        f"{100 * share:.1f} % of the injected delays are expected, by the injected "
        f"distribution (log-normal, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms; not "
        f"counted), to outlast {limit} ms by more than that{outlasting}: a transaction "
        "held across any of them would most likely have been "
        f"seen older than {limit} ms. A connection checked out of the pool outside a transaction "
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
