"""The explanations a miss needs, computed by the run from its own figures (issue 19): the
admission line's bound under Stripe's latency, Stripe's rate limit, the prepares through
PgBouncer, and what the statement's growth follows."""

from __future__ import annotations

from typing import Any

from bench.checks import Checks
from tests.support.bench_reports import make_report


def _phases(connection: float, units: float, rest: float) -> dict[str, Any]:
    def part(mean: float) -> dict[str, float]:
        return {"mean_ms": mean, "p99_ms": 2 * mean, "p50_ms": mean}

    return {
        "route": "POST /v1/public/{tenant_slug}/checkout",
        "requests": 2_000.0,
        "whole": part(900.0),
        "admission_wait": part(350.0),
        "connection_wait": part(connection),
        "unit_of_work": part(units),
        "gateway_call": part(410.0),
        "admission_return_wait": part(10.0),
        "rest": part(rest),
    }


def test_the_admission_lines_bound_is_its_places_over_the_time_a_place_is_held() -> None:
    from bench.report_latency import places_bound

    # 25 + 60 + 15 = 100 ms a place is held: 32 places pass at most 320 checkouts/s.
    text = places_bound(_phases(25.0, 60.0, 15.0), 32, 283.0)
    assert "25 + 60 + 15 = 100 ms per checkout" in text
    assert "the 32 places of one worker" in text
    assert "at most 320 checkouts/s" in text
    assert "measured 283 checkouts/s (88 % of that bound)" in text
    assert "the line bounds this figure" in text


def test_a_rate_well_below_the_lines_bound_is_not_blamed_on_the_line() -> None:
    from bench.report_latency import places_bound

    text = places_bound(_phases(5.0, 10.0, 5.0), 32, 194.0)
    assert "at most 1600 checkouts/s" in text
    assert "measured 194 checkouts/s (12 % of that bound)" in text
    assert "the line bounds this figure" not in text
    assert "the line does not bound this figure" in text


def test_no_bound_without_the_phases_that_hold_a_place() -> None:
    from bench.report_latency import places_bound

    assert places_bound({"whole": {"mean_ms": 1.0}}, 32, 100.0) == ""


def test_session_creations_are_judged_on_the_endpoints_limit_the_tighter_one() -> None:
    from bench.report_latency import stripe_rate_limit
    from bench.stripe_limits import ENDPOINT_REQUESTS_PER_SECOND, LIVE_OPERATIONS_PER_SECOND

    assert (ENDPOINT_REQUESTS_PER_SECOND, LIVE_OPERATIONS_PER_SECOND) == (25, 100)
    text = stripe_rate_limit(283.0)
    assert "283 Checkout Sessions created per second" in text
    assert "11.3 × one endpoint's default limit (25/s)" in text
    assert "2.8 × live mode's limit in all (100/s)" in text
    assert "docs.stripe.com/rate-limits" in text
    assert "measures Bookpay, not what Stripe would allow" in text


def test_session_creations_between_the_limits_exceed_only_the_endpoints() -> None:
    from bench.report_latency import stripe_rate_limit

    text = stripe_rate_limit(80.0)
    assert "80 Checkout Sessions created per second" in text
    assert "3.2 × one endpoint's default limit (25/s)" in text
    assert "within live mode's limit in all (100/s)" in text


def test_session_creations_within_both_limits_are_said_to_be_within() -> None:
    from bench.report_latency import stripe_rate_limit

    text = stripe_rate_limit(20.0)
    assert "20 Checkout Sessions created per second: within Stripe's default" in text
    assert "×" not in text


def test_the_latency_section_prints_the_bound_and_the_rate_limit_from_its_figures() -> None:
    from bench import report_latency

    report = make_report(Checks())
    latency = report.latency
    assert latency is not None
    latency.figures["full"]["phases"] = _phases(25.0, 60.0, 15.0)
    latency.figures["full"]["mean_ms"] = 900.0
    out: list[str] = []
    report_latency.latency_queue(out, latency)
    text = "\n".join(out)
    at_full = text[text.index("**At full load") : text.index("**At half load")]
    assert f"the {latency.places} places of one worker" in at_full
    assert "measured 400 checkouts/s" in at_full
    # 2,000 answered 201 in its 5 measured seconds (the 503s created none).
    assert "400 Checkout Sessions created per second against" in at_full
    assert "4.0 × live mode's limit in all (100/s); 16.0 × one endpoint" in at_full


def test_the_sessions_created_are_the_checkouts_answered_201_per_measured_second() -> None:
    from bench.report_latency import sessions_per_second

    assert sessions_per_second({"statuses": {"201": 900, "503": 90}, "seconds": 8.0}) == 112.5
    assert sessions_per_second({"statuses": {"503": 90}, "seconds": 8.0}) == 0.0


def _counted() -> dict[str, Any]:
    def counts(statements: float, prepares: float, round_trips: float) -> dict[str, float]:
        return {
            "statements": statements,
            "prepares": prepares,
            "round_trips": round_trips,
            "cpu_ms": 9.0,
        }

    return {
        "requests": 10,
        "direct": {
            "checkout": counts(7.0, 0.0, 13.0),
            "webhook, new event": counts(11.1, 0.0, 15.1),
            "webhook, duplicate": counts(6.0, 0.1, 10.1),
        },
        "pgbouncer": {
            "checkout": counts(7.0, 7.0, 20.0),
            "webhook, new event": counts(11.6, 11.6, 30.4),
            "webhook, duplicate": counts(6.4, 6.4, 19.2),
        },
    }


def test_the_pooler_sections_print_the_prepares_counted_in_the_same_run() -> None:
    from bench import report_costs, report_scenarios

    report = make_report(Checks())
    pooled = report.config("postgres", 1, pgbouncer=True)
    assert pooled is not None
    pooled.round_trips = _counted()
    out: list[str] = []
    report_scenarios.pgbouncer(out, report.configs)
    text = "\n".join(out)
    assert "| 1 | checkout | 7.0 / 7.0 | 0.0 / 7.0 | 13.0 / 20.0 | +7.0 |" in text
    assert "| 1 | webhook, new event | 11.1 / 11.6 | 0.0 / 11.6 | 15.1 / 30.4 | +15.3 |" in text
    assert "10 requests of each kind, one at a time" in text
    direct = report.config("postgres", 1)
    explained = report_costs.explain(pooled, "checkout", direct)
    assert "counted in this run, one request at a time: 7.0 prepares and 20.0 round trips" in (
        explained
    )
    assert "against 0.0 and 13.0 served directly" in explained
    assert "bench/findings.md" not in explained
    webhooks = report_costs.explain(pooled, "webhooks", direct)
    assert "11.6 prepares and 30.4 round trips per new event" in webhooks
    assert "6.4 and 19.2 per duplicate" in webhooks


def test_without_the_count_the_pooler_sections_say_it_was_not_counted() -> None:
    from bench import report_costs, report_scenarios

    report = make_report(Checks())
    pooled = report.config("postgres", 1, pgbouncer=True)
    assert pooled is not None
    assert pooled.round_trips is None
    out: list[str] = []
    report_scenarios.pgbouncer(out, report.configs)
    text = "\n".join(out)
    assert "Prepares and round trips per request were not counted in this run" in text
    explained = report_costs.explain(pooled, "checkout", report.config("postgres", 1))
    assert "not counted in this run (`python -m bench.roundtrips --pgbouncer`" in explained


def _growth_statement(
    rps: float,
    p99: float,
    whole: float,
    units: float,
    postgres: float,
    idle: float,
    busy: float = 1.9,
) -> dict[str, Any]:
    def part(mean: float) -> dict[str, float]:
        return {"mean_ms": mean, "p99_ms": 2 * mean}

    return {
        "rps": rps,
        "p50_ms": whole,
        "p99_ms": p99,
        "errors": 0,
        "p99_each": [p99],
        "worker_ms": 1.5,
        "postgres_cores": postgres,
        "idle": idle,
        "busy": busy,
        "connections": 16,
        "phases": {
            "whole": part(whole),
            "connection_wait": part(0.5),
            "unit_of_work": part(units),
            "rest": part(1.0),
        },
    }


def test_the_growth_section_explains_the_statements_p99_from_its_own_figures() -> None:
    from bench.report_growth import statement_growth

    report = make_report(Checks())
    growth = report.growth
    assert growth is not None
    growth.statement_entries = {"small": 1_002, "large": 24_192}
    growth.statement_query_ms = {"small": 1.2, "large": 20.4}
    growth.figures["statement_small"] = _growth_statement(771, 35.6, 20.0, 17.0, 0.50, 0.40)
    growth.figures["statement_large"] = _growth_statement(
        92, 250.3, 172.0, 168.0, 1.80, 0.05, busy=1.95
    )
    text = statement_growth(growth)
    assert "1,002 ledger entries on the small database and 24,192 on the large (24.1 ×)" in text
    assert "1.2 ms and 20.4 ms one at a time (17.0 ×" in text
    assert "16 connections" in text
    assert "172 ms in the server on average, 168 ms of them inside its unit of work" in text
    # 1.80 cores at 92 statements/s: 19.6 ms of PostgreSQL's CPU per statement; with the
    # worker's 1.5 ms each, 1.94 of the machine's 1.95 busy cores.
    assert "19.6 ms of PostgreSQL's CPU per statement" in text
    # With the worker's 1.5 ms: 21.1 ms of CPU per statement against 0.50 / 771 + 1.5.
    assert "2.1 ms of CPU at the small size and 21.1 ms at the large (9.8 ×)" in text
    assert "The machine was full, PostgreSQL and the worker on 1.94 of its cores" in text
    # 16 in flight at 92/s: 174 ms each by Little's law, 20.4 of them the query alone.
    assert "16 × 21.1 ms / 1.94 cores ≈ 174 ms each" in text
    assert "waits for a core behind the other statements' queries" in text
    assert "Other load took" not in text
    assert "(7.03 × from the small database to the large)" in text


def test_a_machine_filled_by_other_load_is_said_to_have_taken_the_statements_cores() -> None:
    from bench.report_growth import statement_growth

    report = make_report(Checks())
    growth = report.growth
    assert growth is not None
    growth.statement_entries = {"small": 1_002, "large": 24_192}
    growth.statement_query_ms = {"small": 2.4, "large": 194.9}
    growth.figures["statement_small"] = _growth_statement(22, 1373.9, 687.0, 516.0, 0.06, 0.0)
    growth.figures["statement_large"] = _growth_statement(17, 1238.7, 922.0, 748.0, 0.40, 0.0)
    text = statement_growth(growth)
    # 0.40 + 1.5 ms x 17/s = 0.43 of 1.90 busy cores: other load took 1.47.
    assert "PostgreSQL and the worker on 0.43 of its cores" in text
    assert "Other load took 1.47 of the 1.90 busy cores" in text
    assert "their CPU per statement, and so its growth, stays" in text


def test_a_statement_growth_on_a_machine_with_cores_to_spare_is_not_called_a_cpu_queue() -> None:
    from bench.report_growth import statement_growth

    report = make_report(Checks())
    growth = report.growth
    assert growth is not None
    growth.statement_entries = {"small": 1_002, "large": 2_004}
    growth.statement_query_ms = {"small": 1.0, "large": 2.0}
    growth.figures["statement_small"] = _growth_statement(800, 30.0, 20.0, 2.0, 0.3, 1.0)
    growth.figures["statement_large"] = _growth_statement(700, 40.0, 23.0, 3.0, 0.4, 0.9)
    text = statement_growth(growth)
    assert "0.90 idle cores: per statement" in text
    assert "The machine was not full" in text
    assert "waits for a core behind" not in text


def test_without_the_statements_readings_the_growth_section_says_so() -> None:
    from bench.report_growth import statement_growth

    report = make_report(Checks())
    assert report.growth is not None
    assert "not measured in this run" in statement_growth(report.growth)


def test_growths_medians_keep_the_machines_readings_and_the_counted_phases() -> None:
    from bench.growth import _median_summary

    def run(rps: float, postgres: float, units: float) -> dict[str, Any]:
        return {
            "rps": rps,
            "p50_ms": 10.0,
            "p99_ms": 20.0,
            "errors": 0,
            "requests": 100,
            "answered": 100,
            "server_cpu_seconds": 0.2,
            "postgres_cpu_share": postgres,
            "machine": {"busy": 1.0, "idle": 1.0, "steal": 0.0},
            "connections": 16,
            "phases": {
                "route": "GET /v1/tenant/statement",
                "requests": 100,
                "unit_of_work": {"mean_ms": units, "p99_ms": 2 * units, "p50_ms": units},
            },
        }

    found = _median_summary([run(90, 1.8, 160.0), run(94, 1.9, 170.0), run(80, 1.0, 100.0)])
    assert found["rps"] == 90
    assert found["worker_ms"] == 2.0
    assert found["postgres_cores"] == 1.8
    assert found["idle"] == 1.0
    assert found["connections"] == 16
    assert found["phases"] == {"unit_of_work": {"mean_ms": 160.0, "p99_ms": 320.0}}


def test_explain_analyzes_execution_time_is_read_from_the_plan() -> None:
    import pytest

    from bench.growth import execution_ms

    assert execution_ms("Planning Time: 0.4 ms\nExecution Time: 20.443 ms") == 20.443
    with pytest.raises(ValueError, match="no Execution Time"):
        execution_ms("Seq Scan on t")


def test_the_runs_count_beside_the_pooler_is_read_from_its_process(
    monkeypatch: Any,
) -> None:
    import json
    import subprocess

    from bench import roundtrips

    calls: list[list[str]] = []

    def answered(code: int, out: str) -> Any:
        def run(command: list[str], **_: Any) -> Any:
            calls.append(command)
            return subprocess.CompletedProcess(command, code, out, "Traceback\nboom")

        return run

    monkeypatch.setattr(subprocess, "run", answered(0, "log\n" + json.dumps(_counted())))
    assert roundtrips.counted_beside("direct-url", "pooled-url", 7) == _counted()
    assert calls[0][-6:] == ["--json", "--requests", "7", "--beside", "direct-url", "pooled-url"]
    monkeypatch.setattr(subprocess, "run", answered(1, ""))
    assert roundtrips.counted_beside("direct-url", "pooled-url") is None
