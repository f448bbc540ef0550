"""The storms in queue mode (BOOKPAY_WEBHOOK_MODE=queue): their checks fail the run when the
queue does not drain or the answers were not acknowledgements, and the report puts both
modes side by side with a target each and a conclusion from what both measured (synthetic
figures, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.checks import Checks
from bench.storms import StormResult
from tests.support.bench_reports import applied_once, make_figure, make_report, pin_versions
from tests.support.bench_storms import CLEAN, DRAWN, latency_storm, storm_served


def _drained(monkeypatch: pytest.MonkeyPatch, waited: float | None, backlog: int) -> None:
    from bench import storms

    monkeypatch.setattr(storms, "wait_for_drain", lambda url: (waited, backlog))
    from bench import queue_drain

    monkeypatch.setattr(queue_drain, "wait_for_drain", lambda url: (waited, backlog))


def test_a_queue_storm_is_checked_after_its_drain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import storms

    acknowledged = {**CLEAN, "seconds": 5.0, "outcomes": {"queued": 2_500}}
    storm_served(monkeypatch, tmp_path, acknowledged, applied_once(20), DRAWN)
    _drained(monkeypatch, 3.0, 1_800)
    checks = Checks()
    result = storms.measure_queue_storm(20, checks)
    assert checks.failures == []
    assert (
        "webhook storm in queue mode: the queue drained (received_events empty 8.0 s after "
        "the first request)" in [what for what, _ in checks.results]
    )
    assert result.drain == {
        "seconds": 8.0,
        "applied_per_second": 2.5,
        "backlog": 1_800.0,
        "drained": 1.0,
    }
    assert (result.mode, result.queue_rate, result.workers) == ("queue", 0, 2)


def test_a_queue_left_full_or_answers_applied_in_the_request_fail_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import storms
    from bench.run import finish

    # The mode not on: every answer applied in the request; and a queue that never empties.
    applied = {**CLEAN, "seconds": 5.0, "outcomes": {"applied": 2_000, "duplicate": 500}}
    storm_served(monkeypatch, tmp_path, applied, applied_once(20), DRAWN)
    _drained(monkeypatch, None, 900)
    checks = Checks()
    result = storms.measure_queue_storm(20, checks)
    assert checks.failures == [
        "webhook storm in queue mode: the queue drained (received_events NOT empty within 300 "
        "s of the last answer)",
        "webhook storm in queue mode: answered queued, none applied in the request (outcomes "
        "applied: 2,000, duplicate: 500)",
    ]
    assert result.drain["drained"] == 0.0
    with pytest.raises(SystemExit):
        finish(checks)


def _queued(p99_ms: float, seconds: float, drain_seconds: float) -> StormResult:
    queued = StormResult(10_000, name="webhook storm in queue mode", mode="queue", queue_rate=0)
    queued.figure = make_figure(12_500 / seconds, p99_ms, seconds=seconds, requests=12_500)
    queued.outcomes = {"queued": 12_500}
    queued.drain = {
        "seconds": drain_seconds,
        "applied_per_second": 10_000 / drain_seconds,
        "backlog": 4_000.0,
        "drained": 1.0,
    }
    queued.check = applied_once(10_000)
    return queued


def _queued_under_latency(p99_ms: float, calls: float, drain_seconds: float) -> StormResult:
    queued = StormResult(
        400,
        workers=1,
        name="webhook storm in queue mode under gateway latency",
        latency_ms=(300, 1200),
        mode="queue",
    )
    queued.figure = make_figure(250, p99_ms, seconds=2.0, requests=500)
    queued.outcomes = {"queued": 500}
    queued.gateway = {"storm": {"calls": calls, "injected_seconds": calls * 0.36}}
    queued.drain = {
        "seconds": drain_seconds,
        "applied_per_second": 400 / drain_seconds,
        "backlog": 380.0,
        "drained": 1.0,
    }
    queued.check = applied_once(400)
    return queued


def test_the_report_puts_both_modes_side_by_side_and_judges_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_versions(monkeypatch)
    report = make_report(Checks())
    storm = report.storm
    assert storm is not None
    # In the request: 600 req/s, p99 90 ms; queue mode: 12,500 answers in 5 s, p99 40 ms,
    # every event applied 20 s after the first request.
    storm.queued = _queued(40, 5.0, 20.0)
    report.evaluate()
    text = report.markdown()
    targets = {name: (value, ok) for name, value, ok in report.targets}
    queue_target = (
        "webhook storm in queue mode (10,000 events, 20 % duplicates, 64 connections) "
        "acknowledged ≥ 50 % of the one-insert ceiling (postgres, 2 workers)"
    )
    assert queue_target in targets
    assert targets[queue_target][0].endswith("p99 40 ms, every event applied within 20 s")
    assert "## Webhook storm in queue mode" in text
    assert "| queue, unpaced | 12,500 | 2500 |" in text
    assert "| queued 12,500 | 20.0 | 500 |" in text
    assert "When the last answer came, 4,000 events were kept and not yet applied." in text
    # No storm under latency in queue mode: the conclusion is from what was measured.
    assert "**Conclusion: the figures favour applying in the request** (the default" in text
    assert "queue mode acknowledged with p99 40 ms against 90 ms in the request" in text
    assert "exactly once held in the webhook storm in queue mode (10,000 confirmed" in text
    assert "one kept whose apply fails is tried again by the worker" in text
    # After the storm's own section and its conclusion, which links it.
    assert text.index("### Apply in the request or from the inbox") < text.index(
        "## Webhook storm in queue mode"
    )


def test_queue_mode_is_favoured_when_the_request_passes_a_limit_the_queue_keeps() -> None:
    from bench.report_queue_storm import latency_words
    from bench.report_storm import conclusion

    storm = StormResult(10_000, figure=make_figure(600, 90, duplicates_sent=2500))
    storm.check = applied_once(10_000)
    storm.queued = _queued(40, 5.0, 20.0)
    # In the request under latency: 5,000 calls in 20 s, 250/s, past both of Stripe's
    # limits; in queue mode 400 calls in 21 s (19/s) and p99 60 ms.
    storm.under_latency = latency_storm(1400, 20.0, 5_000, 800)
    storm.under_latency.queued = _queued_under_latency(60, 400, 21.0)
    text = conclusion(storm, 0.4)
    assert text.startswith("**Conclusion: the figures favour queue mode**")
    assert "under latency it fetched 250/s, over live mode's limit in all (100/s)" in text
    # What queue mode kept reads as a sentence, not a list of run names.
    assert (
        "queue mode kept its answers' p99 below 3,000 ms (40 ms in the storm and 60 ms "
        "under gateway latency) and its worker's calls within Stripe's 25/s (19.0 gateway "
        "calls/s under gateway latency)." in text
    )
    assert "kept webhook storm" not in text
    # The applied/s compared is the unpaced run's (20 s for 10,000 events: 500 calls/s),
    # and the default pace would take 10,000 / (20/s × 2 workers) = 250 s.
    assert (
        "applied 500 events/s against 2000 (0.25 ×; [Webhook storm in queue mode]"
        "(#webhook-storm-in-queue-mode)). The queue's figure is its unpaced run's "
        "(`BOOKPAY_WEBHOOK_QUEUE_RATE=0`, itself 500 gateway calls/s (one per event applied), "
        "past live mode's limit in all (100/s) and one endpoint's default limit (25/s)); at "
        "the default pace (20/s per process) its 10,000 events on 2 workers would take about "
        "250 s." in text
    )
    words = latency_words(storm.under_latency, storm.under_latency.queued)
    assert "the answers' p99 was 60 ms (50.0 × below the shortest webhook timeout" in words
    assert (
        "400 times in 21.0 s, 19.0 calls/s, against Stripe's limits: live mode's limit "
        "in all 100/s (within), one endpoint's default limit 25/s (within)" in words
    )


def test_a_queue_that_did_not_drain_favours_neither_mode() -> None:
    from bench.report_storm import conclusion

    storm = StormResult(10_000, figure=make_figure(600, 3_500, duplicates_sent=2500))
    storm.check = applied_once(10_000)
    storm.queued = _queued(40, 5.0, 20.0)
    storm.queued.drain["drained"] = 0.0
    text = conclusion(storm, 0.4)
    assert text.startswith("**Conclusion: neither mode kept every bound in this run.**")
    assert "its storm's p99 reached 3,000 ms" in text
    assert "webhook storm in queue mode: the queue did not drain" in text


def test_a_queue_mode_storm_measured_starved_draws_no_conclusion() -> None:
    from bench.report_storm import conclusion

    storm = StormResult(10_000, figure=make_figure(600, 90, duplicates_sent=2500))
    storm.check = applied_once(10_000)
    storm.queued = _queued(40, 5.0, 20.0)
    # Its workers at 0.2 of a core each with no idle core while 1.5 cores went elsewhere.
    storm.queued.figure.update(
        server_cpu_share=0.4,
        server_cpu_by_process=[0.2, 0.2],
        postgres_cpu_share=0.05,
        client_cpu_share=0.05,
        wall_seconds=5.0,
    )
    text = conclusion(storm, 0.4)
    assert text.startswith("**Conclusion: none from this run.**")
    assert "the webhook storm in queue mode was measured with the server starved" in text
