"""docs/benchmarks.md from synthetic figures: the webhook storm's section, its targets and
the conclusion worded from its figures."""

from __future__ import annotations

import pytest

from bench.checks import Checks, WebhookCheck
from tests.support.bench_reports import make_report, pin_versions


def test_the_storm_section_concludes_the_choice_its_figures_support(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import report_storm

    pin_versions(monkeypatch)
    report = make_report(Checks())
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
