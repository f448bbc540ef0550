"""Synthetic bench figures, configurations and reports for the unit tests of bench/'s
report and checks (no server, no database)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime as _datetime
from typing import Any

import pytest

from bench.checks import Checks, SeatAudit, WebhookCheck
from bench.configs import ConfigResult
from bench.growth import GrowthResult
from bench.load import LoadSettings
from bench.report import Report
from bench.scenarios import LatencyResult
from bench.seed import BenchTenant
from bench.storms import StormResult
from domain.fees import FeePolicy
from domain.money import Money


def make_figure(rps: float, p99: float = 50.0, **extra: Any) -> dict[str, Any]:
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


def make_config(database: str, workers: int, pgbouncer: bool = False) -> ConfigResult:
    config = ConfigResult(database, workers, pgbouncer=pgbouncer)
    config.figures = {
        "ceiling_json": make_figure(4000),
        "ceiling_insert": make_figure(1000),
        "availability": make_figure(1200),
        "book_page": make_figure(800),
        "checkout": make_figure(450),
        "webhooks": make_figure(520),
    }
    if pgbouncer:
        del config.figures["ceiling_json"], config.figures["availability"]
        del config.figures["book_page"]
    config.memory = {"bookpay": [{"pid": 1, "role": "main", "peak_mb": 90.0}]}
    config.webhooks = WebhookCheck(100, 50, 50, 0, 50, 50, 50, 50, 50, 50, 50)
    return config


def make_report(checks: Checks) -> Report:
    latency = LatencyResult()
    latency.figures = {
        "full": make_figure(400, 1300, statuses={"201": 2000, "503": 500}),
        "half": make_figure(300, 1500),
        "race": make_figure(900, statuses={"201": 100, "409": 800}),
    }
    latency.seats, latency.started = (100, 100), 100
    storm = StormResult(10_000, figure=make_figure(600, 90, duplicates_sent=2500))
    storm.check = WebhookCheck(
        10_000, 10_000, 10_000, 0, 10_000, 10_000, 10_000, 0, 10_000, 10_000, 10_000
    )
    growth = GrowthResult(
        1_000, 1_000_000, 1_800, 1_000_000, 30.0, 3, "a month", explain="Index Scan"
    )
    for scenario in ("availability", "checkout", "webhooks", "statement"):
        growth.figures[f"{scenario}_small"] = {**make_figure(500, 40), "p99_each": [40.0]}
        growth.figures[f"{scenario}_large"] = {**make_figure(480, 80), "p99_each": [80.0]}
    configs = [
        make_config("postgres", 1),
        make_config("postgres", 2),
        make_config("sqlite", 2),
        make_config("postgres", 1, True),
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


def make_bench_tenant() -> BenchTenant:
    policy = FeePolicy(percent_bps=500, fixed=Money(30, "usd"))
    return BenchTenant("tn_1", "studio", "of_1", ["sl_1"], Money(2_500, "usd"), policy)


def applied_once(sent: int) -> WebhookCheck:
    return WebhookCheck(sent, sent, sent, 0, sent, sent, sent, 0, sent, sent, sent)


def databases_answering(
    monkeypatch: pytest.MonkeyPatch, module: Any, audits: dict[str, SeatAudit]
) -> None:
    """`module.with_engine` answers the seat audit from `audits` (by URL), and any other
    database check with "exactly once"."""
    from bench.checks import audit_seats

    def answer(url: str, work: Any) -> Any:
        return audits[url] if work is audit_seats else applied_once(1)

    monkeypatch.setattr(module, "with_engine", answer)


def sqlite_figure(rps: float, worker: float, idle: float, held: float, waiting: float) -> Any:
    turn = {"held_share": held, "mean_waiting": waiting, "by_process": [1.0]}
    return make_figure(
        rps,
        answered=int(rps * 5),
        wall_seconds=5.0,
        server_cpu_seconds=worker * 5.0,
        server_cpu_by_process=[worker],
        machine={"busy": 2.0 - idle, "idle": idle, "steal": 0.0},
        database={"writer_turn": turn},
    )


def pin_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's Versions line without asking the installed packages (one known one)."""
    from bench import report_header

    monkeypatch.setattr(report_header, "_versions", lambda: {"Python": "3.11"})
