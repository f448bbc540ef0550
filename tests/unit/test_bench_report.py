"""docs/benchmarks.md from synthetic figures: each target marked met, missed or not measured,
and each miss explained by its own configuration's figures."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bench.checks import Checks
from tests.support.bench_reports import (
    make_config,
    make_figure,
    make_report,
    pin_versions,
    sqlite_figure,
)


def test_the_report_marks_each_target_met_or_missed(monkeypatch: pytest.MonkeyPatch) -> None:

    pin_versions(monkeypatch)
    checks = Checks()
    checks.expect(True, "webhooks exactly once")
    report = make_report(checks)
    report.evaluate()
    targets = {name: ok for name, _, ok in report.targets}
    assert targets["checkout ≥ 40 % of the one-insert ceiling (postgres, workers 1)"]
    assert targets["webhooks ≥ 50 % of the one-insert ceiling (postgres, workers 1)"]
    # 400 req/s under latency against 450 without: 89 %; p99 at half load 1500 > 1200 + 150.
    latency = [ok for name, _, ok in report.targets if name.startswith("checkout with gateway")]
    assert latency == [True]
    assert not targets[
        "checkout p99 at half load (128 customers) ≤ injected p99 + 150 ms = 1350 ms"
    ]
    # The storm runs on both workers: its ratio is to that configuration's ceiling (600/1000).
    storm = "webhook storm (10,000 events, 20 % duplicates, 64 connections)"
    assert targets[f"{storm} ≥ 50 % of the one-insert ceiling (postgres, 2 workers)"]
    text = report.markdown()
    assert "## Through PgBouncer" in text
    assert "## Webhook storm" in text
    assert "the 2 workers spent" in text
    assert "the busiest 0.70" in text
    assert "| postgres via PgBouncer | 1 | checkout (1 seat, fake gateway) | 450 |" in text
    assert "| sqlite | 2 | checkout (1 seat, fake gateway) | 70 % / 30 % |" in text
    assert "Index Scan" in text
    assert "10,000 `booking.confirmed` events out for 10,000 bookings" in text
    assert "1 checks, 0 failed." in text
    # The per-configuration table shows the events out a confirmation wrote, per booking.
    assert "| `booking.confirmed` events out (bookings) |" in text


def test_the_half_load_time_is_split_by_the_servers_own_readiness(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    pin_versions(monkeypatch)
    report = make_report(Checks())
    assert report.latency is not None
    half = report.latency.figures["half"]
    # 300 checkouts/s with 30 waiting on average: 100 ms each in the admission line.
    half["mean_ms"] = 1000.0
    half["database"] = {
        "readiness": {
            "samples": 50,
            "mean_in_flight": 32.0,
            "mean_waiting": 30.0,
            "most_waiting": 60,
            "live_p50_ms": 12.0,
            "live_mean_ms": 15.0,
        }
    }
    report.evaluate()
    text = report.markdown()
    assert "30.0 waiting in the admission line (at most 60)" in text
    assert "a checkout spent about 100 ms in that line" in text
    assert "took 15 ms on average (p50 12 ms)" in text
    # The rest divided by one probe's time is an estimate, not a count of the loop's turns.
    assert "an estimate from two averages and not a count of the turns" in text


async def test_the_line_comes_from_readiness_and_the_loop_from_liveness() -> None:
    from bench.watch import read_readiness

    asked: list[bytes] = []
    bodies = {
        b"/health/live": b'{"status":"live"}',
        b"/health/ready": b'{"status":"ready","in_flight":3,"waiting":7}',
    }

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        path = (await reader.readuntil(b"\r\n\r\n")).split(b" ")[1]
        asked.append(path)
        body = bodies[path]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        in_flight, waiting, live_ms = await read_readiness(client)
    assert (in_flight, waiting) == (3, 7)
    assert asked == [b"/health/live", b"/health/ready"]
    assert live_ms > 0


def test_each_miss_links_the_costs_of_its_own_configuration_and_sqlite_spread_is_a_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    pin_versions(monkeypatch)
    report = make_report(Checks())
    sqlite = next(config for config in report.configs if config.database == "sqlite")
    sqlite.figures["checkout"] = make_figure(50, server_cpu_by_process=[0.05, 0.5, 0.5])
    sqlite.figures["webhooks"] = make_figure(50, server_cpu_by_process=[0.05, 0.7, 0.3])
    report.evaluate()
    marks = {name: (value, ok) for name, value, ok in report.targets}
    spread = (
        "spread over both workers: each worker 35–65 % of the server's CPU in checkout "
        "and webhooks (sqlite, workers 2)"
    )
    assert marks[spread] == ("checkout 50 % / 50 %; webhooks 70 % / 30 %", False)
    text = report.markdown()
    row = next(line for line in text.splitlines() if "(sqlite, workers 2) | 5 %" in line)
    assert "[Costs per request: sqlite, workers 2](#costs-per-request-sqlite-workers-2)" in row
    assert "Profile" not in row
    assert "### Costs per request: postgres via PgBouncer, workers 1" in text
    assert "served directly (no PgBouncer) the same checkout cost the worker" in text
    assert f"| {spread} |" in text
    assert "### Where a checkout's time went under Stripe's latency" in text
    assert "### Apply in the request or from the inbox" in text


def test_costs_per_request_come_from_the_figure_and_its_database_side() -> None:
    from bench import report_costs

    fig = make_figure(
        100,
        answered=600,
        server_cpu_seconds=3.0,
        wall_seconds=6.0,
        database={
            "database_cpu_seconds": 1.2,
            "backends": 20,
            "pooler_cpu_seconds": 0.6,
            "writer_turn": {"held_share": 0.5, "mean_waiting": 1.5, "by_process": [1.0]},
        },
    )
    cost = report_costs.per_request(fig)
    assert cost["worker_ms"] == 5.0
    assert cost["database_ms"] == 2.0
    assert cost["pooler_ms"] == 1.0
    assert cost["turn_ms"] == 5.0
    # Log-normal, median 300 ms, p99 1200 ms: a mean of about 358 ms.
    from bench import report_latency

    assert round(report_latency.gateway_mean_ms(300, 1200)) == 358


def test_an_explanation_uses_the_database_side_of_its_configuration() -> None:
    from bench import report_costs

    side = {"database_cpu_seconds": 3.0, "backends": 20, "pooler_cpu_seconds": 0.5}
    direct = make_config("postgres", 1)
    pooled = make_config("postgres", 1, pgbouncer=True)
    for config in (direct, pooled):
        for key in ("ceiling_insert", "checkout", "webhooks"):
            config.figures[key] |= {"answered": 1000, "server_cpu_seconds": 2.0, "database": side}
    text = report_costs.explain(pooled, "checkout", direct)
    assert "PostgreSQL's backends 3.00 ms against 3.00 ms" in text
    assert "PgBouncer 0.50 ms against 0.50 ms" in text
    assert "served directly (no PgBouncer)" in text
    sqlite = make_config("sqlite", 1)
    turn = {"writer_turn": {"held_share": 0.5, "mean_waiting": 0.0, "by_process": [1.0]}}
    for key in ("ceiling_insert", "checkout"):
        sqlite.figures[key] |= {"answered": 500, "wall_seconds": 5.0, "database": turn}
    assert "SQLite's writer turn held 5.0 ms per request" in report_costs.explain(
        sqlite, "checkout"
    )
    out: list[str] = []
    report_costs.costs(out, [direct, pooled, sqlite])
    assert any("### Costs per request: sqlite, workers 1" in line for line in out)


def test_the_gateway_call_is_split_by_the_fakes_own_timings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    pin_versions(monkeypatch)
    report = make_report(Checks())
    assert report.latency is not None
    # 1,000 calls: 420 ms each, 360 injected, 30 waiting for the pool, 20 in statements.
    report.latency.gateway["half"] = {
        "calls": 1000.0,
        "call_seconds": 420.0,
        "injected_seconds": 360.0,
        "pool_wait_seconds": 30.0,
        "holding_seconds": 20.0,
        "connections": 2000.0,
    }
    report.latency.figures["half"]["mean_ms"] = 700.0
    report.latency.figures["half"]["database"] = {
        "wall_seconds": 10.0,
        "activity": {
            "samples": 50,
            "mean": {"idle": 20.0},
            "most": {"idle": 25},
            "oldest_transaction_ms": 617.0,
            "active_waits": {},
            "limit_ms": 600,
            "samples_over_limit": 1,
        },
    }
    report.evaluate()
    text = report.markdown()
    assert "| 128 customers | 1,000 | 420 | 360 | 30.0 | 20.0 | 10.0 | 2.0 |" in text
    assert "A call to the fake Stripe took 420 ms on average" in text
    assert "a checkout spent about 280 ms in Bookpay beyond the gateway call" in text
    # The held-transaction check's power, from the injected distribution (said so, not a
    # count): a call spends 8.0 % of its time past 600 ms (p50 300, p99 1200 ms), so with
    # all 20 pooled connections held across their calls 1 - 0.92^20 = 81 % of the samples.
    assert "50 samples in 10.0 s, one every 200 ms on average" in text
    assert "and 1 of the 50 samples showed one older than 600 ms" in text
    assert "a call spends 8.0 % of its time past 600 ms" in text
    assert "about 81 % of the samples would show one, and 8 % with a single connection" in text


def test_a_target_without_its_figure_or_ceiling_reads_not_measured_and_fails_the_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    pin_versions(monkeypatch)
    report = make_report(Checks())
    direct = report.configs[0]
    direct.figures["ceiling_insert"] = make_figure(0)  # a ceiling that answered nothing
    del direct.figures["availability"]
    assert report.latency is not None
    del report.latency.figures["half"]
    report.evaluate()
    marks = {name: (value, ok) for name, value, ok in report.targets}
    assert marks["checkout ≥ 40 % of the one-insert ceiling (postgres, workers 1)"] == (
        "not measured (no ceiling for checkout)",
        False,
    )
    availability = "availability (GET …/slots, 60 slots) ≥ 25 % of the bare JSON ceiling"
    assert marks[f"{availability} (postgres, workers 1)"][0] == (
        "not measured (no availability figure)"
    )
    half = "checkout p99 at half load (128 customers) ≤ injected p99 + 150 ms = 1350 ms"
    assert marks[half] == ("not measured (no figure at half load)", False)
    assert report.checks.failures == [
        "target measured: checkout ≥ 40 % of the one-insert ceiling (postgres, workers 1) "
        "(no ceiling for checkout)",
        "target measured: webhooks ≥ 50 % of the one-insert ceiling (postgres, workers 1) "
        "(no ceiling for webhooks)",
        f"target measured: {availability} (postgres, workers 1) (no availability figure)",
        f"target measured: {half} (no figure at half load)",
    ]
    shown = make_report(Checks())
    shown.configs[0].figures["ceiling_insert"] = make_figure(0)
    shown.evaluate()
    row = next(line for line in shown.markdown().splitlines() if line.startswith("| checkout ≥"))
    assert "| not measured (no ceiling for checkout) | **not measured** |" in row


def test_a_scenario_skipped_on_request_is_listed_not_measured_without_failing() -> None:
    report = make_report(Checks())
    report.latency = report.storm = report.growth = None
    report.evaluate()
    skipped = [value for _, value, _ in report.targets if value.startswith("not measured")]
    assert skipped == [
        "not measured (not run: --no-latency)",
        "not measured (not run: --no-latency)",
        "not measured (not run: --storm-events 0)",
        "not measured (not run: --no-growth)",
    ]
    assert report.checks.failures == []
    # A partial run without the configurations (`--databases ''`): no ceiling, on request.
    partial = make_report(Checks())
    partial.configs = []
    partial.evaluate()
    assert [value for _, value, _ in partial.targets[:3]] == [
        "not measured (no postgres 1 worker configuration in this run)",
        "not measured (no postgres 1 worker configuration in this run)",
        "not measured (no postgres 2 workers ceiling in this run)",
    ]
    assert partial.checks.failures == []


def test_sqlite_is_blamed_on_the_writers_turn_only_when_someone_waited_for_it() -> None:
    from bench import report_costs

    # The last full run's SQLite, 1 worker: 0.89 of a core, a core idle, the turn held
    # 81 % of the time by the one worker with nobody waiting.
    one = make_config("sqlite", 1)
    one.figures["ceiling_insert"] = sqlite_figure(489, 0.91, 0.89, 0.96, 0.0)
    one.figures["checkout"] = sqlite_figure(91, 0.89, 1.00, 0.81, 0.0)
    text = report_costs.explain(one, "checkout")
    assert "queued for SQLite's one writer" not in text
    assert "ran at 0.89 of a core while the machine had 1.00 idle cores" in text
    assert "bound by that one process's CPU" in text
    # Nobody waited for the turn, but it is held on the process's one pooled connection.
    assert "held 81 % of the time (8.9 ms per request) with 0.00 processes waiting" in text
    assert "that connection was in a transaction 81 % of the time" in text
    assert "serves at most ~112 req/s (an estimate: held all the time), a second bound" in text
    # The run of 12:33 UTC: 0.81 of a core, 1.09 idle cores, the turn held 76 %.
    one.figures["checkout"] = sqlite_figure(124, 0.81, 1.09, 0.76, 0.0)
    text = report_costs.explain(one, "checkout")
    assert "by these figures neither the CPU bound it" in text
    assert "nor SQLite's writer turn" not in text
    assert (
        "SQLite's writer turn was held 76 % of the time (6.1 ms per request) with 0.00 "
        "processes waiting for it: no other process queued for it, but the turn is taken at "
        "BEGIN on the process's one pooled connection and given back when that connection "
        "returns to the pool, so that connection was in a transaction 76 % of the time while "
        "the worker used 0.81 of a core, and the worker's other requests queued for it (the "
        "pool's wait is not measured: an estimate from the turn). At 6.1 ms per request the "
        "one connection serves at most ~163 req/s (an estimate: held all the time), so with "
        "neither CPU full the figure is bound by how long a request keeps that connection: "
        "its profile shows"
    ) in text
    # 2 workers: neither full, and 0.67 processes waiting for the turn on average.
    two = make_config("sqlite", 2)
    two.figures["ceiling_insert"] = sqlite_figure(710, 0.77, 0.62, 0.92, 0.37)
    two.figures["checkout"] = sqlite_figure(103, 0.60, 0.67, 0.91, 0.67)
    text = report_costs.explain(two, "checkout")
    assert "with 0.67 processes waiting for it on average, so the requests queued" in text
    # The turn held, nobody waiting, the worker far from a full core: not the writer either.
    two.figures["checkout"] = sqlite_figure(103, 0.60, 0.67, 0.91, 0.0)
    text = report_costs.explain(two, "checkout")
    assert "queued for SQLite's one writer" not in text
    # Only what the figures show: no guess at what the requests waited on.
    assert "neither the CPU nor SQLite's writer turn bound it" in text
    assert "what the requests waited on was not measured in this run" in text
    assert "locks" not in text
