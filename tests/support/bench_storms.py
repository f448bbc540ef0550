"""Storms for the bench's tests: a storm under latency as the run records it, and
bench/storms.py's storm run against no server (its load, database and fake answering as
the test says)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest

from bench.checks import SeatAudit, WebhookCheck
from bench.load import LoadSettings
from bench.servers import Server
from bench.storms import StormResult
from tests.support.bench_reports import applied_once, make_bench_tenant, make_figure

EVENTS = 2_000


def latency_storm(
    p99_ms: float,
    seconds: float,
    calls: float,
    probe_calls: float,
    probed: int = 400,
    duplicates: int = 500,
    mean_ms: float | None = None,
) -> StormResult:
    """A storm under latency as the run records it: its figure, the fake's calls over it
    and over the duplicates-only pass, the delays drawn, and exactly once held."""
    requests = EVENTS + duplicates
    storm = StormResult(EVENTS, workers=1, name="webhook storm under gateway latency")
    storm.latency_ms = (300, 1200)
    storm.figure = make_figure(
        requests / seconds,
        p99_ms,
        requests=requests,
        seconds=seconds,
        events_sent=EVENTS,
        duplicates_sent=duplicates,
        mean_ms=mean_ms if mean_ms is not None else p99_ms / 3,
    )
    storm.gateway = {
        "storm": {"calls": calls, "injected_seconds": calls * 0.36},
        "duplicates_only": {"calls": probe_calls, "injected_seconds": probe_calls * 0.36},
    }
    storm.duplicates_only = make_figure(100, answered=probed, requests=probed)
    storm.drawn = {"calls": calls, "injected_p50_ms": 301.0, "injected_p99_ms": 1190.0}
    storm.check = applied_once(EVENTS)
    return storm


def with_latency_storm(latency: StormResult | None) -> StormResult:
    """The zero-latency storm of the report's tests (p99 90 ms, a full machine), with
    `latency` as its second run."""
    storm = StormResult(10_000, figure=make_figure(600, 90, duplicates_sent=2500))
    storm.check = applied_once(10_000)
    storm.under_latency = latency
    return storm


@contextmanager
def _database(engine: str) -> Iterator[str]:
    yield "url"


def storm_served(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    storm: dict[str, Any],
    check: WebhookCheck,
    drawn: dict[str, float],
    log: str = "INFO ready\n",
) -> None:
    """bench/storms.py's storm against no server: the storm's load answers `storm`, the
    duplicates-only pass answers without error, nothing is left to redeliver, the database
    answers `check` and a sound seat audit, and the fake drew `drawn`."""
    from bench import storms

    server = Server("bookpay", 1, cast(Any, None), tmp_path / "server.log")
    server.log_path.write_text(log)

    def load(settings: LoadSettings, plan: dict[str, Any], *args: Any) -> dict[str, Any]:
        if plan["label"].endswith("duplicates only"):
            return {"errors": 0, "statuses": {"200": 400}, "summary": make_figure(100)}
        sent = [booking["booking_id"] for booking in plan["bookings"]]
        figure = {"events_sent": len(sent), "sent_booking_ids": sent, **storm}
        return {**figure, "summary": figure}

    readings = iter(float(calls) for calls in (0, 2_500, 2_500, 2_900))
    monkeypatch.setattr(storms, "throwaway_database", _database)
    monkeypatch.setattr(storms, "free_port", lambda: 1)
    monkeypatch.setattr(storms, "start_server", lambda *args: server)
    monkeypatch.setattr(storms, "stop_server", lambda server: None)
    monkeypatch.setattr(storms, "set_up_tenant", lambda *args: make_bench_tenant())
    monkeypatch.setattr(storms, "WatchTarget", lambda *args, **kwargs: None)
    monkeypatch.setattr(storms, "with_engine", lambda url, work: work(None))
    monkeypatch.setattr(
        storms,
        "seed_pending_bookings",
        lambda engine, tenant, events: [{"booking_id": f"bk_{n}"} for n in range(events)],
    )
    monkeypatch.setattr(storms, "still_pending", lambda engine, tenant, sent: set())
    monkeypatch.setattr(storms, "check_webhooks_applied", lambda *args: check)
    monkeypatch.setattr(storms, "audit_seats", lambda engine: SeatAudit(60, 0, 0))
    monkeypatch.setattr(
        storms,
        "webhook_plan",
        lambda s, bookings, label, *a: {"label": label, "bookings": bookings},
    )
    monkeypatch.setattr(storms, "run_load", load)
    monkeypatch.setattr(storms, "fake_stripe_timings", lambda s: {"calls": next(readings)})
    monkeypatch.setattr(storms, "drawn_delays", lambda s, since: drawn)


DRAWN = {"calls": 2_500.0, "injected_p50_ms": 301.0, "injected_p99_ms": 1190.0}
CLEAN = {"errors": 0, "warmup_errors": 0, "statuses": {"200": 2_500}}
