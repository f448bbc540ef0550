"""bench/ imports, and its load generator signs webhooks the way Bookpay verifies them.

No timing here: `make bench` measures; this only keeps the benchmark code from rotting.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from datetime import datetime as _datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from adapters.stripe_wire.signature import verify
from bench import calibration, loadgen, nodelay, profiling, roundtrips, run, seed
from bench.checks import Checks, SeatAudit
from bench.common import ROOT
from bench.configs import ConfigResult
from bench.growth import GrowthResult
from bench.load import LoadSettings
from bench.report import Report
from bench.scenarios import LatencyResult, StormResult
from bench.seed import BenchTenant, WebhookCheck
from bench.servers import Server
from domain.fees import FeePolicy
from domain.money import Money
from tools import pgbouncer


def test_the_bench_modules_import() -> None:
    assert callable(run.main)
    assert callable(calibration.create_app)
    assert callable(nodelay.main)
    assert callable(seed.seed_history)
    assert callable(roundtrips.main)


def test_webhook_events_are_signed_and_duplicates_reuse_an_event_id() -> None:
    bookings = [
        {
            "tenant_id": "tn_1",
            "booking_id": f"bk_{n}",
            "session_id": f"cs_{n}",
            "amount": 2130,
            "currency": "usd",
        }
        for n in range(20)
    ]
    source = loadgen.WebhookSource(8000, "whsec_test", bookings, duplicate_share=0.2)
    ids = []
    while (request := source.next_request()) is not None:
        head, _, body = request.partition(b"\r\n\r\n")
        header = next(
            line.split(b": ", 1)[1].decode()
            for line in head.split(b"\r\n")
            if line.startswith(b"stripe-signature")
        )
        verify(body, header, "whsec_test", now=datetime.now(UTC))
        ids.append(json.loads(body)["id"])
    assert len(set(ids)) == len(bookings)
    assert len(ids) == len(bookings) + source.duplicates


def test_a_profile_is_summarized_by_layer() -> None:
    raw = (
        f"main ({ROOT}/entrypoints/cli.py:10);execute (/x/site-packages/sqlalchemy/a.py:1) 3\n"
        f"main ({ROOT}/entrypoints/cli.py:10) 1\n"
    )
    summary = profiling.summarize_profile(raw)
    assert summary["samples"] == 4
    assert dict(summary["layers"])["SQLAlchemy"] == 75
    assert dict(summary["inclusive"])["entrypoints/cli.py:main"] == 100


def test_the_events_out_bench_writes_its_table() -> None:
    from bench import events_out

    figures = {"per_second": 120.0, "p50": 0.6, "p99": 1.1, "checkouts_per_second": 80.0}
    text = events_out.markdown({"sqlite": figures}, 500, 20)
    assert "| sqlite | 120 | 600 ms | 1100 ms | 80 |" in text


def _figure(rps: float, p99: float = 50.0, **extra: Any) -> dict[str, Any]:
    return {
        "rps": rps,
        "p50_ms": p99 / 2,
        "p99_ms": p99,
        "errors": 0,
        "statuses": {"200": 10},
        "first_error": None,
        "requests": int(rps * 5),
        "seconds": 5.0,
        "server_cpu_share": 1.0,
        "server_cpu_by_process": [0.3, 0.7],
        "postgres_cpu_share": 0.2,
        "client_cpu_share": 0.1,
        "machine": {"busy": 2.0, "idle": 0.0, "steal": 0.0},
        **extra,
    }


def _config(database: str, workers: int, pgbouncer: bool = False) -> ConfigResult:
    config = ConfigResult(database, workers, pgbouncer=pgbouncer)
    config.figures = {
        "ceiling_json": _figure(4000),
        "ceiling_insert": _figure(1000),
        "availability": _figure(1200),
        "book_page": _figure(800),
        "checkout": _figure(450),
        "webhooks": _figure(520),
    }
    if pgbouncer:
        del config.figures["ceiling_json"], config.figures["availability"]
        del config.figures["book_page"]
    config.memory = {"bookpay": [{"pid": 1, "role": "main", "peak_mb": 90.0}]}
    config.webhooks = WebhookCheck(100, 50, 50, 0, 50, 50, 50, 50, 50, 50, 50)
    return config


def _report(checks: Checks) -> Report:
    latency = LatencyResult()
    latency.figures = {
        "full": _figure(400, 1300, statuses={"201": 2000, "503": 500}),
        "half": _figure(300, 1500),
        "race": _figure(900, statuses={"201": 100, "409": 800}),
    }
    latency.seats, latency.started = (100, 100), 100
    storm = StormResult(10_000, figure=_figure(600, 90, duplicates_sent=2500))
    storm.check = WebhookCheck(
        10_000, 10_000, 10_000, 0, 10_000, 10_000, 10_000, 0, 10_000, 10_000, 10_000
    )
    growth = GrowthResult(
        1_000, 1_000_000, 1_800, 1_000_000, 30.0, 3, "a month", explain="Index Scan"
    )
    for scenario in ("availability", "checkout", "webhooks", "statement"):
        growth.figures[f"{scenario}_small"] = {**_figure(500, 40), "p99_each": [40.0]}
        growth.figures[f"{scenario}_large"] = {**_figure(480, 80), "p99_each": [80.0]}
    configs = [
        _config("postgres", 1),
        _config("postgres", 2),
        _config("sqlite", 2),
        _config("postgres", 1, True),
    ]
    return Report(
        _datetime(2026, 11, 30, tzinfo=UTC),
        LoadSettings(5, 1, 16),
        "python -m bench.run",
        configs,
        latency,
        storm,
        growth,
        {},
        {},
        checks,
    )


def test_the_report_marks_each_target_met_or_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import report_sections

    monkeypatch.setattr(report_sections, "_versions", lambda: {"Python": "3.11"})
    checks = Checks()
    checks.expect(True, "webhooks exactly once")
    report = _report(checks)
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


def test_a_failed_check_is_kept_and_named() -> None:
    checks = Checks()
    checks.expect(True, "fine")
    checks.no_errors({"errors": 3, "statuses": {"503": 3}}, "storm")
    assert checks.failures == ["storm: no errors (3 errors, 0 during the warm-up; statuses 503: 3)"]


def test_the_half_load_time_is_split_by_the_servers_own_readiness(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import report_sections

    monkeypatch.setattr(report_sections, "_versions", lambda: {"Python": "3.11"})
    report = _report(Checks())
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


def test_a_get_plan_sends_its_headers_and_a_plan_may_expect_other_statuses() -> None:
    source = loadgen.build_source(
        {
            "kind": "get",
            "port": 8000,
            "paths": ["/v1/tenant/statement"],
            "headers": {"authorization": "Bearer k"},
            "expected": [200, 304],
        }
    )
    request = source.next_request()
    assert request is not None
    assert b"\r\nauthorization: Bearer k\r\n" in request
    assert source.expected == frozenset({200, 304})


def test_the_pgbouncer_launcher_pools_transactions(tmp_path: Path) -> None:
    text = pgbouncer._config(tmp_path, 6432, "127.0.0.1", 5432, 7)
    assert "pool_mode = transaction" in text
    assert "default_pool_size = 7" in text
    assert "connect_query='SET statement_timeout = 5000; SET lock_timeout = 2500'" in text
    bouncer = pgbouncer.PgBouncer("127.0.0.1", 6432, tmp_path / "log")
    assert bouncer.url_for("postgresql+asyncpg://postgres@127.0.0.1:5432/db") == (
        "postgresql+asyncpg://postgres@127.0.0.1:6432/db"
    )


def test_errors_during_the_warm_up_are_counted_apart_and_fail_the_no_errors_check() -> None:
    recorder = loadgen.Recorder(measure_from=10.0)
    recorder.record(1.0, 2.0, "503", False, "pool timeout during warm-up")
    recorder.record(3.0, 4.0, "201", True, "")
    recorder.record(11.0, 12.0, "201", True, "")
    assert recorder.errors == 0
    assert recorder.warmup_errors == 1
    assert recorder.warmup_statuses == {"503": 1, "201": 1}
    assert recorder.first_error == "pool timeout during warm-up"
    assert recorder.latencies == [1.0]
    checks = Checks()
    figure = {"errors": 0, "warmup_errors": 1, "statuses": {"201": 1}}
    assert not checks.no_errors(figure, "checkout")
    assert "1 during the warm-up" in checks.failures[0]


def test_each_miss_links_the_costs_of_its_own_configuration_and_sqlite_spread_is_a_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import report_sections

    monkeypatch.setattr(report_sections, "_versions", lambda: {"Python": "3.11"})
    report = _report(Checks())
    sqlite = next(config for config in report.configs if config.database == "sqlite")
    sqlite.figures["checkout"] = _figure(50, server_cpu_by_process=[0.05, 0.5, 0.5])
    sqlite.figures["webhooks"] = _figure(50, server_cpu_by_process=[0.05, 0.7, 0.3])
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
    assert "### Where the half-load checkout's time went" in text
    assert "### Apply in the request or from the inbox" in text


def test_costs_per_request_come_from_the_figure_and_its_database_side() -> None:
    from bench import report_costs

    fig = _figure(
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
    assert round(report_costs.gateway_mean_ms(300, 1200)) == 358


def test_an_explanation_uses_the_database_side_of_its_configuration() -> None:
    from bench import report_costs

    side = {"database_cpu_seconds": 3.0, "backends": 20, "pooler_cpu_seconds": 0.5}
    direct = _config("postgres", 1)
    pooled = _config("postgres", 1, pgbouncer=True)
    for config in (direct, pooled):
        for key in ("ceiling_insert", "checkout", "webhooks"):
            config.figures[key] |= {"answered": 1000, "server_cpu_seconds": 2.0, "database": side}
    text = report_costs.explain(pooled, "checkout", direct)
    assert "PostgreSQL's backends 3.00 ms against 3.00 ms" in text
    assert "PgBouncer 0.50 ms against 0.50 ms" in text
    assert "served directly (no PgBouncer)" in text
    sqlite = _config("sqlite", 1)
    turn = {"writer_turn": {"held_share": 0.5, "mean_waiting": 0.0, "by_process": [1.0]}}
    for key in ("ceiling_insert", "checkout"):
        sqlite.figures[key] |= {"answered": 500, "wall_seconds": 5.0, "database": turn}
    assert "SQLite's writer turn held 5.0 ms per request" in report_costs.explain(
        sqlite, "checkout"
    )
    out: list[str] = []
    report_costs.costs(out, [direct, pooled, sqlite])
    assert any("### Costs per request: sqlite, workers 1" in line for line in out)


def test_a_throughput_with_error_answers_meets_no_target() -> None:
    # A run whose checkouts answered 503 fast must not read "met" in the Targets table.
    from bench.report import _answered_well, _with_errors

    assert _answered_well({"rps": 300.0, "errors": 0, "warmup_errors": 0})
    assert not _answered_well({"rps": 300.0, "errors": 157, "warmup_errors": 0})
    assert not _answered_well({"rps": 300.0, "errors": 0, "warmup_errors": 3})
    assert _with_errors({"errors": 157, "warmup_errors": 3}) == " (160 errors)"


def test_the_race_for_the_last_seats_holds_only_when_every_seat_sells_once() -> None:
    checks = Checks()
    assert checks.last_seats_sold(100, 100, 100, 256)
    assert not checks.last_seats_sold(0, 0, 100, 256)  # every checkout refused
    assert not checks.last_seats_sold(101, 100, 100, 256)
    assert not checks.last_seats_sold(100, 101, 100, 256)
    assert checks.failures[0] == (
        "last seats: 256 customers, 0 checkouts started and 0 seats taken by bookings of "
        "100 offered (all sold, none overbooked)"
    )


def test_the_seat_check_claims_no_race_and_names_drifted_slots() -> None:
    checks = Checks()
    assert checks.seats_match_bookings(SeatAudit(40, 0, 0), "postgres, workers 1")
    assert not checks.seats_match_bookings(SeatAudit(40, 0, 1, ("sl_1",)), "sqlite, workers 2")
    assert checks.results[0][0] == (
        "postgres, workers 1: seats counted match bookings, none over capacity (40 slots: "
        "0 over capacity by their bookings, 0 with counters unlike their bookings)"
    )
    assert checks.failures[0].endswith("1 with counters unlike their bookings, e.g. sl_1)")


def test_growth_checks_that_no_request_waited_out_the_pool(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import growth

    def measured(settings: LoadSettings, plan: dict[str, Any], server: Server) -> dict[str, Any]:
        timed_out = plan["port"] == 2 and plan["label"].startswith("checkout")
        statuses = {"503": 1} if timed_out else {"200": 10}
        return {"summary": _figure(100, statuses=statuses), "errors": 0, "events_sent": 5}

    monkeypatch.setattr(growth, "run_load", measured)
    servers = {}
    for port, size in enumerate(("small", "large"), start=1):
        log = tmp_path / f"{size}.log"
        log.write_text("")
        server = Server("bookpay", port, cast(Any, None), log)
        servers[size] = (server, _bench_tenant(), [{"booking_id": "bk_1"}])
    checks = Checks()
    at = datetime(2030, 1, 1, tzinfo=UTC)
    growth._rounds(growth.GrowthResult(), servers, LoadSettings(1, 0, 1), at, at, checks)
    assert "growth (small): no pool timeout (0 answers 503, 0 timeouts logged)" in [
        what for what, ok in checks.results if ok
    ]
    # One 503 in each round of the large database's checkout.
    rounds = growth.GROWTH_ROUNDS
    assert checks.failures == [
        f"growth (large): no pool timeout ({rounds} answers 503, 0 timeouts logged)"
    ]


def _bench_tenant() -> BenchTenant:
    policy = FeePolicy(percent_bps=500, fixed=Money(30, "usd"))
    return BenchTenant("tn_1", "studio", "of_1", ["sl_1"], Money(2_500, "usd"), policy)


def test_the_versions_name_pgbouncer_and_the_commit_measured() -> None:
    from bench import report_sections

    assert report_sections.first_line_version("PgBouncer 1.18.0\nlibevent 2.1.12\n") == "1.18.0"
    assert report_sections.first_line_version(None) == "not found"
    assert report_sections._output(["/nonexistent/pgbouncer", "--version"]) is None
    tree = report_sections.tree_state
    assert tree("0a98179\n", "") == "0a98179"
    # The report itself is what the run writes: its change is no change to the code measured.
    assert tree("0a98179\n", " M docs/benchmarks.md\n") == "0a98179"
    assert tree("0a98179\n", " M docs/benchmarks.md\nM  bench/run.py\n") == (
        "0a98179 + uncommitted changes"
    )
    assert tree("0a98179\n", "R  bench/a.py -> bench/b.py\n").endswith("uncommitted changes")
    assert tree(None, "") == "not found"


def test_the_header_names_what_ran_and_where_events_out_is_timed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import report_sections

    monkeypatch.setattr(report_sections, "_versions", lambda: {"Python": "3.11"})
    report = _report(Checks())
    report.command = "python -m bench.run --seconds 2"
    report.runtime_seconds = 90.0
    report.evaluate()
    direct = report.markdown()
    assert "- Command: `python -m bench.run --seconds 2`\n" in direct
    assert "make bench` →" not in direct
    assert "- Run: 2026-11-30 00:00 UTC, 1.5 minutes\n" in direct
    report.invoked_by = "make bench"
    made = report.markdown()
    assert "- Command: `make bench` → `python -m bench.run --seconds 2`, then" in made
    assert "1.5 minutes for `python -m bench.run`; `make bench` then measures events out" in made


def test_events_out_appends_only_to_a_report_of_this_run_and_times_the_whole(
    tmp_path: Path,
) -> None:
    import os

    from bench import events_out

    report = tmp_path / "benchmarks.md"
    assert not events_out.written_since(report, 1_000.0)
    report.write_text("# Benchmarks\n")
    os.utime(report, (900.0, 900.0))  # the previous run's report
    assert not events_out.written_since(report, 1_000.0)
    os.utime(report, (1_000.0, 1_000.0))
    assert events_out.written_since(report, 1_000.0)
    line = events_out.run_time(1_000.0, 1_480.0, 1_540.0, "python -m bench.events_out")
    assert "`make bench` took 9.0 minutes in all" in line
    assert "events out 1.0 minutes (`python -m bench.events_out`)" in line


def test_a_miss_links_a_profile_only_when_one_was_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import report_sections

    monkeypatch.setattr(report_sections, "_versions", lambda: {"Python": "3.11"})
    assert report_sections.explained_by("p99 at half load", ()) == "no profile taken"
    assert report_sections.explained_by("p99 at half load", ("checkout_latency",)) == (
        "[Profile: checkout_latency](#profile-checkout_latency)"
    )
    assert report_sections.explained_by("peak memory", ()) == "[Peak memory](#peak-memory)"
    report = _report(Checks())  # no profiles: as with --no-profile or without py-spy
    direct = report.configs[0]
    direct.figures["checkout"] = _figure(100)
    report.evaluate()
    text = report.markdown()
    row = next(line for line in text.splitlines() if line.startswith("| checkout p99 at half"))
    assert "no profile taken" in row
    assert "(#profile-" not in text


def test_the_servers_inherit_no_bookpay_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.common import inherited_env
    from bench.servers import server_env

    monkeypatch.setenv("BOOKPAY_FAKE_STRIPE_LATENCY_MS", "300,1200")
    monkeypatch.setenv("BOOKPAY_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("BOOKPAY_BENCH_POSTGRES_URL", "postgresql+asyncpg://me@db/test")
    monkeypatch.setenv("BENCH_UNRELATED", "kept")
    env = server_env("sqlite+aiosqlite:///x.db", 8001)
    assert not {name for name in env if name.startswith("BOOKPAY_FAKE_STRIPE")}
    assert "BOOKPAY_REDIS_URL" not in env
    assert "BOOKPAY_BENCH_POSTGRES_URL" not in env
    assert env["BOOKPAY_DATABASE_URL"] == "sqlite+aiosqlite:///x.db"
    assert env["BENCH_UNRELATED"] == "kept"
    assert not [name for name in inherited_env() if name.startswith("BOOKPAY_")]


def test_the_bench_logs_in_to_postgresql_with_its_urls_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from bench import common

    seen: dict[str, Any] = {}

    async def connect(**options: Any) -> str:
        seen.update(options)
        return "a connection"

    monkeypatch.setattr(common, "POSTGRES_SERVER", "postgresql+asyncpg://me:s3cret@db:6543/test")
    monkeypatch.setattr(common.asyncpg, "connect", connect)
    assert asyncio.run(common.connect_postgres()) == "a connection"
    assert seen == {
        "host": "db",
        "port": 6543,
        "user": "me",
        "password": "s3cret",
        "database": "test",
    }


def test_a_transaction_as_old_as_a_call_to_stripe_fails_the_run() -> None:
    checks = Checks()
    sampled = {"activity": {"samples": 50, "oldest_transaction_ms": 117.4}}
    assert checks.no_transaction_across_gateway(sampled, 300, "half load")
    held = {"activity": {"samples": 50, "oldest_transaction_ms": 812.0}}
    assert not checks.no_transaction_across_gateway(held, 300, "full load")
    # Nothing sampled (the watch failed) shows nothing: not a pass.
    assert not checks.no_transaction_across_gateway({"watch_error": "boom"}, 300, "half load")
    assert checks.failures[0] == (
        "full load: no transaction held across a call to Stripe (the oldest open transaction "
        "in 50 samples of pg_stat_activity was 812 ms old; the limit 300 ms)"
    )


def test_the_gateway_call_is_split_by_the_fakes_own_timings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import report_sections

    monkeypatch.setattr(report_sections, "_versions", lambda: {"Python": "3.11"})
    report = _report(Checks())
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
            "oldest_transaction_ms": 117.0,
            "active_waits": {},
        },
    }
    report.evaluate()
    text = report.markdown()
    assert "| 128 customers | 1,000 | 420 | 360 | 30.0 | 20.0 | 10.0 | 2.0 |" in text
    assert "A call to the fake Stripe took 420 ms on average" in text
    assert "a checkout spent about 280 ms in Bookpay beyond the gateway call" in text
    # The held-transaction check's power, from the samples' pace and the calls measured:
    # 5.0 % of the delays (p50 300, p99 1200 ms) outlast 600 ms by the 200 ms between samples.
    assert "the samples came every 200 ms on average, and 5.0 % of the injected" in text
    assert "(50 of the figure's 1,000 calls)" in text


def test_a_target_without_its_figure_or_ceiling_reads_not_measured_and_fails_the_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import report_sections

    monkeypatch.setattr(report_sections, "_versions", lambda: {"Python": "3.11"})
    report = _report(Checks())
    direct = report.configs[0]
    direct.figures["ceiling_insert"] = _figure(0)  # a ceiling that answered nothing
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
    shown = _report(Checks())
    shown.configs[0].figures["ceiling_insert"] = _figure(0)
    shown.evaluate()
    row = next(line for line in shown.markdown().splitlines() if line.startswith("| checkout ≥"))
    assert "| not measured (no ceiling for checkout) | **not measured** |" in row


def test_a_scenario_skipped_on_request_is_listed_not_measured_without_failing() -> None:
    report = _report(Checks())
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
    partial = _report(Checks())
    partial.configs = []
    partial.evaluate()
    assert [value for _, value, _ in partial.targets[:3]] == [
        "not measured (no postgres 1 worker configuration in this run)",
        "not measured (no postgres 1 worker configuration in this run)",
        "not measured (no postgres 2 workers ceiling in this run)",
    ]
    assert partial.checks.failures == []


def test_the_storm_meets_its_target_only_when_every_answer_was_expected() -> None:
    report = _report(Checks())
    assert report.storm is not None
    report.storm.figure["errors"] = 12
    report.evaluate()
    storm = next(t for t in report.targets if t[0].startswith("webhook storm"))
    assert storm[1:] == ("60 %, p99 90 ms (12 errors)", False)


def _once(sent: int) -> WebhookCheck:
    return WebhookCheck(sent, sent, sent, 0, sent, sent, sent, 0, sent, sent, sent)


def _databases_answering(
    monkeypatch: pytest.MonkeyPatch, module: Any, audits: dict[str, SeatAudit]
) -> None:
    """`module.with_engine` answers the seat audit from `audits` (by URL), and any other
    database check with "exactly once"."""
    from bench.checks import audit_seats

    def answer(url: str, work: Any) -> Any:
        return audits[url] if work is audit_seats else _once(1)

    monkeypatch.setattr(module, "with_engine", answer)


def test_the_storm_and_growth_audit_their_seats_and_fail_on_an_overbooked_slot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import growth, scenarios

    overbooked = SeatAudit(60, 1, 0, ("sl_9",))
    _databases_answering(monkeypatch, scenarios, {"storm": overbooked})
    checks = Checks()
    storm = StormResult(1)
    scenarios.check_storm_database(storm, "storm", _bench_tenant(), ["bk_1"], 1, checks)
    assert checks.failures == [
        "webhook storm: seats counted match bookings, none over capacity (60 slots: 1 over "
        "capacity by their bookings, 0 with counters unlike their bookings, e.g. sl_9)"
    ]

    _databases_answering(monkeypatch, growth, {"a": SeatAudit(50, 0, 0), "b": overbooked})
    checks = Checks()
    result = growth.GrowthResult()
    result.figures = {"webhooks_small": {"sent": 1}, "webhooks_large": {"sent": 1}}
    server = Server("bookpay", 1, cast(Any, None), tmp_path / "log")
    pending = [{"booking_id": "bk_1"}]
    servers = {size: (server, _bench_tenant(), pending) for size in ("small", "large")}
    growth.check_growth_databases(result, {"small": "a", "large": "b"}, servers, checks)
    assert [what.split(":")[0] for what in checks.failures] == ["growth (large)"]
    assert "growth (small): seats counted match bookings" in checks.results[1][0]


def test_a_storm_redelivery_answered_with_errors_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import scenarios

    still = iter([{"bk_1", "bk_2"}, {"bk_2"}, set()])
    monkeypatch.setattr(scenarios, "with_engine", lambda url, work: next(still))
    answers = iter([{"503": 1, "200": 1}, {"200": 1}])

    def measured(settings: LoadSettings, plan: dict[str, Any], server: Server) -> dict[str, Any]:
        statuses = next(answers)
        return {"errors": statuses.get("503", 0), "statuses": statuses, "summary": {}}

    monkeypatch.setattr(scenarios, "run_load", measured)
    monkeypatch.setattr(scenarios, "webhook_plan", lambda *args: {})
    storm = StormResult(2)
    pending = [{"booking_id": "bk_1"}, {"booking_id": "bk_2"}]
    server = Server("bookpay", 1, cast(Any, None), tmp_path / "log")
    checks = Checks()
    again = scenarios._redeliver(
        storm, server, "url", _bench_tenant(), pending, ["bk_1", "bk_2"], checks
    )
    assert storm.redelivered == [2, 1]
    assert len(again) == 2
    assert checks.failures == [
        "webhook storm: redelivery 1 (2 events): no errors (1 errors, 0 during the warm-up; "
        "statuses 200: 1, 503: 1)"
    ]


def _sqlite_figure(rps: float, worker: float, idle: float, held: float, waiting: float) -> Any:
    turn = {"held_share": held, "mean_waiting": waiting, "by_process": [1.0]}
    return _figure(
        rps,
        answered=int(rps * 5),
        wall_seconds=5.0,
        server_cpu_seconds=worker * 5.0,
        server_cpu_by_process=[worker],
        machine={"busy": 2.0 - idle, "idle": idle, "steal": 0.0},
        database={"writer_turn": turn},
    )


def test_sqlite_is_blamed_on_the_writers_turn_only_when_someone_waited_for_it() -> None:
    from bench import report_costs

    # The last full run's SQLite, 1 worker: 0.89 of a core, a core idle, the turn held
    # 81 % of the time by the one worker with nobody waiting.
    one = _config("sqlite", 1)
    one.figures["ceiling_insert"] = _sqlite_figure(489, 0.91, 0.89, 0.96, 0.0)
    one.figures["checkout"] = _sqlite_figure(91, 0.89, 1.00, 0.81, 0.0)
    text = report_costs.explain(one, "checkout")
    assert "queued for SQLite's one writer" not in text
    assert "ran at 0.89 of a core while the machine had 1.00 idle cores" in text
    assert "bound by that one process's CPU" in text
    assert "0.00 processes waited for it on average" in text
    # 2 workers: neither full, and 0.67 processes waiting for the turn on average.
    two = _config("sqlite", 2)
    two.figures["ceiling_insert"] = _sqlite_figure(710, 0.77, 0.62, 0.92, 0.37)
    two.figures["checkout"] = _sqlite_figure(103, 0.60, 0.67, 0.91, 0.67)
    text = report_costs.explain(two, "checkout")
    assert "with 0.67 processes waiting for it on average, so the requests queued" in text
    # The turn held, nobody waiting, the worker far from a full core: not the writer either.
    two.figures["checkout"] = _sqlite_figure(103, 0.60, 0.67, 0.91, 0.0)
    text = report_costs.explain(two, "checkout")
    assert "queued for SQLite's one writer" not in text
    assert "the requests waited on something else" in text


def test_the_storm_section_concludes_the_choice_its_figures_support(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import report_sections, report_storm

    monkeypatch.setattr(report_sections, "_versions", lambda: {"Python": "3.11"})
    report = _report(Checks())
    report.evaluate()
    text = report.markdown()
    # p99 90 ms on a full machine (0.00 idle cores), applied exactly once.
    assert "**Conclusion: Bookpay applies in the request** (a 200 means committed)" in text
    assert "90 ms with 64 deliveries at once, is 33.3 × below" in text
    assert "the machine's CPU (0.00 idle cores)" in text
    assert "exactly once held in this storm's database (10,000 confirmed" in text
    assert "test_webhook_crash.py" in text
    storm = report.storm
    assert storm is not None
    storm.figure["p99_ms"] = 4_000.0
    storm.check = WebhookCheck(10_000, 9_999, 10_000, 1, 10_000, 9_999, 9_999, 0, 0, 0, 0)
    late = report_storm.conclusion(storm, 0.4)
    assert late.startswith("**Conclusion: acknowledge from the inbox.**")
    assert "exactly once did NOT hold" in late
