"""The benchmark reads the server's own per-request phase histograms (/metrics, made by
entrypoints/http/operations.py) before and after a load, and the report prints what they
measured in place of estimates (bench/server_phases.py, report_latency, report_waits)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.checks import Checks
from bench.server_phases import parse_histograms, percentile_ms, spent
from entrypoints.http.operations import RequestMetrics
from entrypoints.http.request_phases import CONNECTION_WAIT, GATEWAY_CALL, RequestPhases
from tests.support.bench_reports import make_config, make_report, sqlite_figure

ROUTE = "/v1/public/{tenant_slug}/checkout"


def _checkouts(metrics: RequestMetrics, count: int, wait: float, call: float) -> None:
    for _ in range(count):
        phases = RequestPhases()
        phases.add(CONNECTION_WAIT, wait)
        phases.add(GATEWAY_CALL, call)
        metrics.observe("POST", ROUTE, 201, wait + call + 0.004, phases)


def _measured() -> dict[str, Any]:
    """100 checkouts counted between two readings of /metrics (and 5 before the first):
    99 waited 8 ms for a connection, one 450 ms."""
    metrics = RequestMetrics()
    _checkouts(metrics, 5, 2.0, 2.0)
    before = parse_histograms(metrics.render())
    _checkouts(metrics, 99, 0.008, 0.3)
    _checkouts(metrics, 1, 0.45, 0.3)
    metrics.observe("GET", "/health/live", 200, 0.001, RequestPhases())
    found = spent(before, parse_histograms(metrics.render()))
    assert found is not None
    return found


def test_the_busiest_routes_phases_are_read_as_means_and_bounded_p99s() -> None:
    found = _measured()

    assert found["route"] == f"POST {ROUTE}"
    assert found["requests"] == 100
    assert found["connection_wait"]["mean_ms"] == pytest.approx((99 * 8 + 450) / 100)
    assert found["connection_wait"]["p99_ms"] == pytest.approx(10)  # 99 of 100 within 10 ms
    assert found["gateway_call"]["mean_ms"] == pytest.approx(300)
    assert found["rest"]["mean_ms"] == pytest.approx(4)
    parts = ("admission_wait", "connection_wait", "unit_of_work", "gateway_call")
    total = sum(found[name]["mean_ms"] for name in (*parts, "admission_return_wait", "rest"))
    assert total == pytest.approx(found["whole"]["mean_ms"])


def test_the_nearest_rank_percentile_of_the_drawn_delays() -> None:
    delays = [n / 1000 for n in range(1, 101)]
    assert percentile_ms(delays, 0.5) == pytest.approx(50)
    assert percentile_ms(delays, 0.99) == pytest.approx(99)


def test_sqlite_one_worker_prints_the_measured_wait_for_its_one_connection() -> None:
    from bench import report_costs

    one = make_config("sqlite", 1)
    one.figures["ceiling_insert"] = sqlite_figure(489, 0.91, 0.89, 0.96, 0.0)
    one.figures["checkout"] = sqlite_figure(124, 0.81, 1.09, 0.76, 0.0)
    text = report_costs.explain(one, "checkout")
    assert "the pool's wait is not measured: an estimate from the turn" in text

    one.figures["checkout"]["phases"] = _measured()
    text = report_costs.explain(one, "checkout")
    assert "the pool's wait is not measured" not in text
    assert (
        f"measured per request by the server itself, 100 requests of POST {ROUTE}, warm-up "
        "included: 12.4 ms on average waiting for that connection (p99 ≤ 10 ms, a histogram "
        "bucket's bound)"
    ) in text
    # What the figure waited on: every phase, counted, where nothing else was read.
    assert "what the requests waited on was not measured" not in text
    assert "the server counted per request (100 requests of" in text
    assert "12.4 ms waiting for a pooled database connection" in text


def test_the_latency_section_accounts_for_the_checkout_with_measured_phases() -> None:
    from bench import report_latency

    report = make_report(Checks())
    latency = report.latency
    assert latency is not None
    full = latency.figures["full"]
    full.update(mean_ms=320.0, p99_ms=820.0)
    full["database"] = {
        "readiness": {
            "samples": 40,
            "mean_in_flight": 96.0,
            "mean_waiting": 160.0,
            "most_waiting": 200,
            "live_p50_ms": 20.0,
            "live_mean_ms": 25.0,
        }
    }
    full["phases"] = _measured()
    latency.drawn["full"] = {
        "calls": 100.0,
        "injected_p50_ms": 301.0,
        "injected_p99_ms": 1187.0,
        "call_p99_ms": 1260.0,
    }
    out: list[str] = []
    report_latency.latency_queue(out, latency)
    text = "\n".join(out)
    at_full = text[text.index("**At full load") : text.index("**At half load")]

    assert "not measured apart" not in at_full
    assert "a checkout spent 316 ms in the server on average" in at_full
    assert "12 ms waiting for a pooled database connection" in at_full
    assert "300 ms in the gateway call, as the app saw it" in at_full
    assert "(together 316 ms)" in at_full
    assert "waiting for a pooled database connection ≤ 10 ms" in at_full
    assert "The fake drew 100 delays in this figure: p50 301 ms, p99 1187 ms" in at_full
    assert "its calls took p99 1260 ms timed inside it; as the app saw it, p99 ≤ 300 ms" in (
        at_full
    )
