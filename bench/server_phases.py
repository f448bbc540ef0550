"""Where the server's requests spent their time, as it counted them per request: its
/metrics histograms `bookpay_http_request_duration_seconds` and
`bookpay_http_request_phase_seconds` (entrypoints/http/request_phases.py), read before and
after a load and subtracted. A histogram's sum over its count is a mean per request; its
buckets bound a percentile from above (the upper edge of the bucket that reaches it)."""

from __future__ import annotations

import math
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.servers import Server

DURATION = "bookpay_http_request_duration_seconds"
PHASE = "bookpay_http_request_phase_seconds"
# The phases in the order a checkout meets them (entrypoints/http/request_phases.py PHASES).
PHASES = (
    "admission_wait",
    "connection_wait",
    "unit_of_work",
    "gateway_call",
    "admission_return_wait",
    "rest",
)
PHASE_WORDS = {
    "admission_wait": "waiting for a place in the admission line",
    "connection_wait": "waiting for a pooled database connection",
    "unit_of_work": "inside units of work (holding a connection)",
    "gateway_call": "in the gateway call, as the app saw it",
    "admission_return_wait": "waiting for a place again after Stripe",
    "rest": "the rest (its own Python and turns on the event loop outside those)",
}

# {(method, route): {"whole": …}, PHASES_KEY: {phase: …}}, each {"sum": s, "count": n,
# "buckets": {le: cumulative}}: the whole per route, the phases over all routes.
Histograms = dict[tuple[str, str], dict[str, dict[str, Any]]]
PHASES_KEY = ("", "")


def read_histograms(server: Server) -> Histograms:
    """The server's request histograms now ({} when it has none, or no /metrics)."""
    try:
        answer = httpx.get(f"{server.base_url}/metrics", timeout=30)
    except httpx.HTTPError:
        return {}
    if answer.status_code != 200:
        return {}
    return parse_histograms(answer.text)


def parse_histograms(text: str) -> Histograms:
    found: Histograms = {}
    for family in text_string_to_metric_families(text):
        if family.name not in (DURATION, PHASE):
            continue
        for sample in family.samples:
            labels = sample.labels
            key = PHASES_KEY if family.name == PHASE else (labels["method"], labels["route"])
            part = labels.get("phase", "whole") if family.name == PHASE else "whole"
            entry = found.setdefault(key, {}).setdefault(
                part, {"sum": 0.0, "count": 0.0, "buckets": {}}
            )
            if sample.name.endswith("_bucket"):
                entry["buckets"][float(labels["le"])] = sample.value
            elif sample.name.endswith("_sum"):
                entry["sum"] = sample.value
            elif sample.name.endswith("_count"):
                entry["count"] = sample.value
    return found


def spent(before: Histograms, after: Histograms) -> dict[str, Any] | None:
    """The busiest route's whole and the phases over the load (after less before):
    {"route", "requests", and per part ("whole" and each phase) "mean_ms" and "p99_ms" (a
    bound)}. The phases are the server's over all routes, of the requests that met one: in a
    load of one route, that route's (and the two /metrics reads around it). None when the
    server counted nothing."""
    routes = {
        key: parts["whole"]["count"] - before.get(key, {}).get("whole", {}).get("count", 0.0)
        for key, parts in after.items()
        if "whole" in parts
    }
    if not routes or max(routes.values()) <= 0:
        return None
    key = max(routes, key=lambda route: routes[route])
    out: dict[str, Any] = {"route": f"{key[0]} {key[1]}", "requests": routes[key]}
    parts = [(key, part, now) for part, now in after[key].items()]
    parts += [(PHASES_KEY, part, now) for part, now in after.get(PHASES_KEY, {}).items()]
    for source, part, now in parts:
        then = before.get(source, {}).get(part, {"sum": 0.0, "count": 0.0, "buckets": {}})
        count = now["count"] - then["count"]
        if count <= 0:
            continue
        buckets = {le: n - then["buckets"].get(le, 0.0) for le, n in now["buckets"].items()}
        out[part] = {
            "mean_ms": 1000 * (now["sum"] - then["sum"]) / count,
            "p99_ms": _bound(buckets, count, 0.99),
            "p50_ms": _bound(buckets, count, 0.50),
        }
    return out


def _bound(buckets: dict[float, float], count: float, quantile: float) -> float:
    """The upper edge, in ms, of the first bucket holding the quantile (inf past the last
    finite edge)."""
    for edge in sorted(buckets):
        if buckets[edge] >= quantile * count:
            return 1000 * edge
    return math.inf


def phase_clauses(phases: dict[str, Any], decimals: int) -> tuple[str, str, float]:
    """`spent`'s phases in PHASES order, as printed: their means ("25.0 ms waiting for …",
    with `decimals`), their p99 bounds, and the means' sum in ms."""
    parts = [(name, phases[name]) for name in PHASES if name in phases]
    means = ", ".join(
        f"{part['mean_ms']:.{decimals}f} ms {PHASE_WORDS[name]}" for name, part in parts
    )
    p99s = ", ".join(f"{PHASE_WORDS[name]} {bound_words(part['p99_ms'])}" for name, part in parts)
    return means, p99s, sum(part["mean_ms"] for _, part in parts)


def counted_words(phases: dict[str, Any]) -> str:
    """`spent`'s reading in one clause: the mean per phase, summing to the whole, and each
    phase's p99 bound."""
    whole = phases["whole"]
    means, p99s, _ = phase_clauses(phases, 1)
    return (
        f"the server counted per request ({phases['requests']:,.0f} requests of "
        f"{phases['route']}, warm-up included; its `/metrics` histograms): "
        f"{whole['mean_ms']:.1f} ms in the server on average, of which {means}; p99 bounds "
        f"(a histogram bucket's edge): the whole {bound_words(whole['p99_ms'])}, {p99s}"
    )


def bound_words(ms: float) -> str:
    """A bucket's bound as printed: "≤ 300 ms", or past the last finite edge."""
    return "beyond 10 s" if math.isinf(ms) else f"≤ {ms:.0f} ms"


def percentile_ms(samples: list[float], quantile: float) -> float:
    """The nearest-rank percentile of `samples` (seconds) in milliseconds."""
    ordered = sorted(samples)
    rank = max(math.ceil(quantile * len(ordered)) - 1, 0)
    return 1000 * ordered[rank]
