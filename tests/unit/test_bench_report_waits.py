"""docs/benchmarks.md says what a miss's requests waited on from what was read beside its
load, judges no scenario figure measured while other load starved the server, and links
SQLite's browsing misses to their profiles (synthetic figures, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.checks import Checks
from tests.support.bench_reports import make_config, make_figure, make_report, pin_versions

READINESS = {
    "samples": 50,
    "mean_in_flight": 12.0,
    "mean_waiting": 4.0,
    "most_waiting": 9,
    "live_p50_ms": 2.5,
    "live_mean_ms": 3.0,
}
ACTIVITY = {
    "samples": 50,
    "mean": {"active": 2.0, "idle in transaction": 1.0, "idle": 17.0},
    "most": {"active": 5, "idle in transaction": 3},
    "oldest_transaction_ms": 20.0,
    "active_waits": {"Lock:transactionid": 10},
    "mean_active_by": {"running": 1.0, "Client": 0.5, "Lock": 0.5},
}
POOLER = {
    "transactions": 2_000,
    "queries": 8_000,
    "wait_ms": 1_000.0,
    "transaction_ms": 6_000.0,
    "query_ms": 4_000.0,
    "samples": 50,
    "mean_waiting": 3.5,
    "mean_active": 16.0,
    "mean_servers": 12.0,
    "most_waiting": 8,
}


def _unbound(fig: dict[str, Any], side: dict[str, Any]) -> None:
    """A figure bound by neither the worker nor the machine (0.80 of a core, 0.30 idle),
    500 requests in 5 s on 16 connections, with `side` read beside it."""
    fig.update(
        rps=100.0,
        mean_ms=150.0,
        answered=500,
        wall_seconds=5.0,
        connections=16,
        server_cpu_seconds=4.0,
        server_cpu_share=0.8,
        server_cpu_by_process=[0.8],
        machine={"busy": 1.7, "idle": 0.3, "steal": 0.0},
        database={"wall_seconds": 5.0, **side},
    )


def test_an_unbound_miss_says_what_its_requests_waited_on_from_the_readings() -> None:
    from bench import report_costs

    pooled = make_config("postgres", 1, pgbouncer=True)
    side = {"readiness": READINESS, "activity": ACTIVITY, "pooler": POOLER}
    _unbound(pooled.figures["checkout"], side)
    text = report_costs.explain(pooled, "checkout")
    assert "not measured" not in text
    assert "a request took 160 ms by Little's law (16 connections at 100 req/s)" in text
    assert "150 ms measured on average" in text
    # The worker: its event loop's lag and the admission line (4 waiting at 100 req/s).
    assert "`/health/live`" in text
    assert "took 3.0 ms on average (p50 2.5 ms)" in text
    assert "~40.0 ms per request in that line (an estimate by Little's law)" in text
    # PostgreSQL: active (running, waiting on a lock), idle in a transaction.
    assert (
        "on average 2.00 active (1.00 running, 0.50 waiting on Client, 0.50 waiting on "
        "Lock), 1.00 idle in a transaction and 17.00 idle"
    ) in text
    # Active but waiting on Client is the app's time, as idle in a transaction is.
    assert "~15.0 ms per request working in PostgreSQL (active, not waiting on the client)" in text
    assert "~15.0 ms per request in which PostgreSQL waited on the app inside a transaction" in text
    # PgBouncer: SHOW STATS per transaction and per request, SHOW POOLS sampled.
    assert "2,000 transactions (4.0 per request)" in text
    assert "clients waited 0.50 ms for a server connection" in text
    assert "the transaction lasted 3.00 ms on it, of which 2.00 ms in queries" in text
    assert "per request 2.00 ms waiting for a server connection" in text
    assert "3.5 clients waiting for a server connection on average (at most 8)" in text
    assert "16.0 not waiting (`cl_active`) and 12.0 server connections in use" in text


def test_a_miss_with_nothing_read_beside_it_still_says_so() -> None:
    from bench import report_costs

    one = make_config("sqlite", 1)
    _unbound(one.figures["availability"], {})
    del one.figures["availability"]["database"]
    text = report_costs.explain(one, "availability")
    assert "what the requests waited on was not measured in this run" in text


def test_the_storm_says_where_its_requests_waited() -> None:
    from bench import report_scenarios

    report = make_report(Checks())
    storm, direct = report.storm, report.config("postgres", 2)
    assert storm is not None
    storm.figure.update(
        connections=64,
        answered=3_000,
        database={"wall_seconds": 5.0, "readiness": READINESS, "activity": ACTIVITY},
    )
    out: list[str] = []
    report_scenarios.storm(out, storm, direct)
    text = "\n".join(out)
    assert "is not measured" not in text
    assert "Where the storm's requests waited: measured beside the load" in text
    assert "(64 connections at 600 req/s)" in text
    # 4 waiting in the line of each of 2 workers at 600 req/s (3,000 answered in 5 s).
    assert "one of the 2 workers' (whichever took it) `/health/live`" in text
    assert "~13.3 ms per request in that line (an estimate by Little's law, that worker's " in text


def _starved_by_others(fig: dict[str, Any], *cores: float) -> None:
    """The machine full, the server's workers at `cores`, and 1 core busy elsewhere."""
    fig.update(
        server_cpu_by_process=list(cores),
        server_cpu_share=sum(cores),
        postgres_cpu_share=0.2,
        client_cpu_share=0.1,
        wall_seconds=5.0,
        machine={"busy": 1.3 + sum(cores), "idle": 0.0, "steal": 0.0},
    )


def test_a_scenario_figure_starved_by_other_load_is_not_judged_and_fails_a_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    pin_versions(monkeypatch)
    report = make_report(Checks())
    one, two = report.config("postgres", 1), report.config("postgres", 2)
    assert one is not None
    assert two is not None
    _starved_by_others(one.figures["webhooks"], 0.5)
    _starved_by_others(two.figures["availability"], 0.3, 0.3)
    latency = report.latency
    assert latency is not None
    _starved_by_others(latency.figures["half"], 0.4)
    report.evaluate()
    found = {name: (value, ok) for name, value, ok in report.targets}
    tail = "checkout p99 at half load (128 customers) ≤ injected p99 + 150 ms = 1350 ms"
    for name in (
        "webhooks ≥ 50 % of the one-insert ceiling (postgres, workers 1)",
        "availability (GET …/slots, 60 slots) ≥ 25 % of the bare JSON ceiling "
        "(postgres, workers 2)",
        tail,
    ):
        value, ok = found[name]
        assert value.startswith("not judged (figure starved: "), name
        assert "1.00 cores (at least 0.30) were busy outside the server" in value, name
        assert not ok, name
        assert any(f.startswith(name) for f in report.checks.not_judged)
    assert not report.checks.failures
    # The same figure's other scenarios, not starved, are judged.
    assert found["checkout ≥ 40 % of the one-insert ceiling (postgres, workers 1)"][0] == "45 %"
    assert "| **not judged** |" in report.markdown()


def test_a_figure_whose_own_load_fills_the_machine_is_judged() -> None:
    from bench.report_costs import starved_figure

    # One worker at 0.6 of a core, PostgreSQL 0.8, the load generator 0.6: the machine full
    # of the scenario's own load, nothing else running: bound by the machine, not starved.
    fig = make_figure(300, server_cpu_by_process=[0.6], server_cpu_share=0.6)
    fig.update(
        postgres_cpu_share=0.8,
        client_cpu_share=0.6,
        wall_seconds=5.0,
        machine={"busy": 2.0, "idle": 0.0, "steal": 0.0},
    )
    assert starved_figure(fig) is None
    # Its own database measured apart (the run's backends and PgBouncer): the other
    # databases' backends are other load.
    fig["database"] = {"database_cpu_seconds": 1.0, "pooler_cpu_seconds": 0.0}
    assert starved_figure(fig) is not None


def test_sqlites_browsing_misses_link_their_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.profiling import profile_key

    pin_versions(monkeypatch)
    report = make_report(Checks())
    report.configs.append(make_config("sqlite", 1))
    for key in ("availability", "book_page"):
        report.profiles[profile_key(key, "sqlite", False)] = {
            "samples": 600,
            "layers": [("aiosqlite", 55.0)],
            "leaf": [("_connection_worker_thread (core.py)", 50.0)],
            "inclusive": [],
            "where": "sqlite, workers 1",
            "connections": 16,
            "seconds": 3.0,
            "where_sampled": {
                "aiosqlite_thread": 58.0,
                "aiosqlite_waiting": 55.0,
                "event_loop_wait": 29.0,
            },
        }
    for config in report.configs:
        if "availability" in config.figures:  # every availability misses
            config.figures["availability"]["rps"] = 100.0
    report.evaluate()
    name = "availability (GET …/slots, 60 slots) ≥ 25 % of the bare JSON ceiling"
    why = report.explanations[f"{name} (sqlite, workers 1)"]
    assert "[Profile: availability (sqlite, workers 1)]" in why
    text = report.markdown()
    assert "### Profile: book_page (sqlite, workers 1)" in text
    assert "sqlite, workers 1, 16 connections, 3 s; 600 samples." in text
    assert (
        "Of the samples, 29 % were the event loop waiting for a socket or a thread's answer "
        "(asyncio's `select`; under uvloop, no Python frame above `Runner.run`: its C loop, "
        "which native stacks show in libuv's `epoll_pwait`); 58 % in aiosqlite's connection "
        "threads: 55 % waiting at `tx.get()` for their next statement and 3 % running one "
        "(SQLite's C library, off the event loop) or handing its answer back."
    ) in text


def test_pgbouncers_console_answers_are_read_per_database() -> None:
    from bench.pooler_console import PoolerReading, parse_rows

    rows = parse_rows(
        [
            "database|user|cl_active|cl_waiting|sv_active",
            "bench_x|postgres|14|3|14",
            "pgbouncer|pgbouncer|1|0|0",
        ]
    )
    reading = PoolerReading("bench_x")
    reading.add_pools(rows)
    reading.add_pools(parse_rows(["database|cl_active|cl_waiting", "bench_x|16|5"]))
    stats = "database|total_xact_count|total_query_count|total_wait_time|total_xact_time"
    reading.before = parse_rows([stats + "|total_query_time", "bench_x|10|40|1000|5000|3000"])[0]
    reading.after = parse_rows(
        [stats + "|total_query_time", "bench_x|110|440|51000|305000|203000"]
    )[0]
    summary = reading.summary()
    assert summary is not None
    assert summary["transactions"] == 100
    assert summary["queries"] == 400
    assert summary["wait_ms"] == 50.0
    assert summary["transaction_ms"] == 300.0
    assert summary["query_ms"] == 200.0
    assert summary["mean_waiting"] == 4.0
    assert summary["most_waiting"] == 5
    assert summary["mean_active"] == 15.0
    assert summary["mean_servers"] == 7.0
    assert PoolerReading("bench_x").summary() is None
