"""docs/benchmarks.md's words agree with its numbers: what bound a figure, which targets
could not be judged (apart from the correctness checks), the storm's conclusion, the stack
and the caching measured, and whether the run's machine was idle (synthetic figures, no
server)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report_costs, report_header
from bench.checks import Checks
from bench.report import Report
from tests.support.bench_reports import make_config, make_report, pin_versions, sqlite_figure


def _explain(worker: float, idle: float, *others: float, held: float = 0.0) -> str:
    one = make_config("sqlite", 1 + len(others))
    one.figures["ceiling_insert"] = sqlite_figure(800, 0.95, 0.9, 0.5, 0.0)
    fig = sqlite_figure(160, worker, idle, held, 0.0)
    fig["server_cpu_by_process"] = [worker, *others]
    one.figures["checkout"] = fig
    return report_costs.explain(one, "checkout")


def test_a_worker_at_or_above_the_near_full_line_is_never_called_below_it() -> None:
    # The PgBouncer webhooks of one run: 0.86 of a core, 0.50 idle cores.
    text = _explain(0.86, 0.5)
    assert "below 0.85" not in text
    assert "Neither" not in text
    assert "The busiest worker ran at 0.86 of a core (0.85 or more: near full, below the " in text
    assert "0.90 taken as saturated) while the machine had 0.50 idle cores (below 0.75: " in text
    assert "less than a core to spare" in text
    assert "bound by CPU" in text


def test_two_workers_on_a_machine_short_of_a_spare_core_say_so_with_their_total() -> None:
    # SQLite, 2 workers, availability of one run: 0.89 and 0.72 of a core, 0.22 idle cores.
    text = _explain(0.89, 0.22, 0.72)
    assert "the 2 workers 1.61 cores in all, while the machine had 0.22 idle cores" in text
    assert "(below 0.75: less than a core to spare, though not below the 0.15 taken as full)" in (
        text
    )
    assert "Neither" not in text


def test_a_share_that_prints_as_the_line_is_judged_as_printed() -> None:
    # 0.849 prints as 0.85: the words must not read "0.85 of a core at most, below 0.85".
    text = _explain(0.849, 0.17)
    assert "0.85 of a core at most, below 0.85" not in text
    assert "ran at 0.85 of a core (0.85 or more: near full" in text
    assert report_costs._bound(0.899, 0.5) == "worker"
    assert report_costs._bound(0.5, 0.149) is None  # prints 0.15: not below 0.15
    assert report_costs._bound(0.5, 0.144) == "machine"


def test_workers_below_the_line_name_the_machine_by_the_spare_core_rule() -> None:
    short = _explain(0.62, 0.5)
    assert "Neither the workers (0.62 of a core at most, below 0.85) nor the machine (0.50 " in (
        short
    )
    assert "0.50 idle cores: not below the 0.15 taken as full, but below 0.75, less than a " in (
        short
    )
    spare = _explain(0.62, 1.1)
    assert "nor the machine (1.10 idle cores, 0.75 or more: a core to spare) were full" in spare


def _starved_storm(report: Report) -> None:
    two = report.config("postgres", 2)
    assert two is not None
    two.figures["ceiling_insert"].update(
        server_cpu_by_process=[0.33, 0.33],
        server_cpu_share=0.66,
        machine={"busy": 2.0, "idle": 0.0, "steal": 0.0},
    )


def test_targets_not_judged_are_listed_apart_from_the_correctness_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_versions(monkeypatch)
    report = make_report(Checks())
    report.checks.expect(True, "webhooks exactly once (postgres, workers 1)")
    _starved_storm(report)
    report.evaluate()
    text = report.markdown()
    checks_part = text.split("## Correctness checks")[1].split("\n## ")[0]
    assert "NOT JUDGED" not in checks_part
    assert "**FAILED**" not in checks_part
    assert "1 checks, 0 failed; besides, 3 targets not judged (next section), which fails " in (
        checks_part
    )
    unjudged = text.split("## Targets not judged (a run that cannot judge fails `make bench`)")[1]
    assert "- **NOT JUDGED**: webhook storm (10,000 events" in unjudged
    assert "its ceiling was measured with the server starved" in unjudged
    message = report.checks.exit_message()
    assert message is not None
    assert message.startswith("3 target(s) NOT JUDGED (measured starved of CPU: a busy machine")
    assert "correctness check" not in message


def test_a_failed_check_and_an_unjudged_target_are_each_named_in_the_exit_message() -> None:
    checks = Checks()
    assert checks.exit_message() is None
    assert not checks.run_fails
    checks.expect(False, "storm: exactly once")
    checks.cannot_judge("webhooks ≥ 50 % (its ceiling was starved)")
    message = checks.exit_message()
    assert message == (
        "1 correctness check(s) FAILED: storm: exactly once | 1 target(s) NOT JUDGED "
        "(measured starved of CPU: a busy machine, not a broken check): webhooks ≥ 50 % "
        "(its ceiling was starved)"
    )
    assert checks.failures == ["storm: exactly once"]


def test_a_run_with_every_target_judged_has_no_unjudged_section(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_versions(monkeypatch)
    report = make_report(Checks())
    report.checks.expect(True, "fine")
    report.evaluate()
    text = report.markdown()
    assert "1 checks, 0 failed.\n" in text
    assert "## Targets not judged" not in text


def test_the_storm_conclusion_is_not_drawn_when_the_storm_is_not_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_versions(monkeypatch)
    report = make_report(Checks())
    assert report.storm is not None
    # A starved run's storm: its p99 beyond the quoted timeout would say "inbox".
    report.storm.figure["p99_ms"] = 3_500.0
    _starved_storm(report)
    report.evaluate()
    text = report.markdown()
    assert "**Conclusion: none from this run.** The storm's figures are not judged (its " in text
    assert "this run favours neither mode" in text
    assert "Conclusion: acknowledge from the inbox" not in text
    assert "Conclusion: Bookpay applies in the request" not in text


def test_a_judged_storm_still_concludes_from_its_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_versions(monkeypatch)
    report = make_report(Checks())
    assert report.storm is not None
    report.storm.figure["p99_ms"] = 3_500.0
    report.evaluate()
    assert "**Conclusion: acknowledge from the inbox.**" in report.markdown()
    report.storm.figure["p99_ms"] = 90.0
    assert "**Conclusion: Bookpay applies in the request**" in report.markdown()


def test_the_versions_name_the_loop_and_parser_served_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_postgres(work: Any) -> str:
        work.close()
        return "15"

    monkeypatch.setattr("bench.report_header.asyncio.run", no_postgres)
    monkeypatch.setattr(report_header, "_output", lambda command: None)
    found = report_header._versions()
    assert list(found)[1:5] == ["litestar", "uvicorn", "uvloop", "httptools"]
    assert found["uvloop"][0].isdigit()
    assert found["httptools"][0].isdigit()


def test_the_throughput_intro_names_the_stack_and_the_earlier_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_versions(monkeypatch)
    text = make_report(Checks()).markdown()
    assert "The ceilings run on the same stack as Bookpay: uvicorn on uvloop's loop and " in text
    assert "bench/findings.md says why" in text
    assert (
        "The issue's starting figures (43 % / 47 % / 7 %) were measured on an earlier stack "
        "and machine: ratios across runs of different stacks are not comparable." in text
    )


def test_the_browsing_line_says_what_an_answer_carried_and_that_all_were_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_versions(monkeypatch)
    report = make_report(Checks())
    for config in report.configs:
        config.caching = {"status": "200", "Cache-Control": "public, max-age=5", "ETag": '"ab"'}
    text = report.markdown()
    assert (
        "Browsing and HTTP caching: an availability answer read before each load was a 200 "
        'with `Cache-Control: public, max-age=5` and an ETag (e.g. `ETag: "ab"`) '
        "(3 configurations). The load sends no `If-None-Match` (bench/shop.py), so every "
        "availability figure above is of full 200 answers (200: 30)." in text
    )
    one = report.config("postgres", 1)
    assert one is not None
    one.figures["availability"]["statuses"] = {"200": 5, "304": 1}
    assert "no answer should be a 304; its answers were 200: 25, 304: 1." in report.markdown()


def _with_readings(fig: dict[str, Any], busy: float) -> None:
    fig.update(wall_seconds=5.0, machine={"busy": busy, "idle": 2.0 - busy, "steal": 0.0})


def test_the_header_says_whether_the_machine_was_idle_by_the_runs_own_readings() -> None:
    report = make_report(Checks())
    assert "the machine was not read (no figure has the readings)" in report_header._budget(report)
    figures = report_header._figures(report)
    # Server 1.0 + PostgreSQL 0.2 + load generator 0.1 cores of each figure: 1.4 busy
    # leaves 0.1 to other load.
    for fig in figures:
        _with_readings(fig, 1.4)
    idle = report_header._budget(report)
    assert idle.startswith("`make bench` is to take at most 10 minutes on an idle machine; ")
    assert idle.endswith(f"was idle (at most 0.10 cores beside {len(figures)} figures)")
    _with_readings(figures[0], 2.0)
    busy = report_header._budget(report)
    assert busy.endswith(
        f"not idle (0.30 cores or more beside 1 of {len(figures)} figures, at most 0.70): "
        "its time says little about the budget"
    )


def test_the_header_carries_the_budget_line(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_versions(monkeypatch)
    text = make_report(Checks()).markdown()
    assert "\n- Budget: `make bench` is to take at most 10 minutes on an idle machine" in text


def test_a_storm_starved_by_other_load_draws_no_conclusion_without_its_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A partial run (no postgres 2-worker ceiling: the storm's target is not measured)
    # whose storm figure was starved by other load.
    pin_versions(monkeypatch)
    report = make_report(Checks())
    report.configs = [c for c in report.configs if (c.database, c.workers) != ("postgres", 2)]
    assert report.storm is not None
    report.storm.figure.update(
        server_cpu_by_process=[0.3, 0.3], server_cpu_share=0.6, wall_seconds=5.0
    )
    report.evaluate()
    text = report.markdown()
    assert (
        "**Conclusion: none from this run.** The storm's figures are not judged (its figure "
        in (text)
    )
    assert "1.10 cores (at least 0.30) were busy outside the server" in text
    assert "Conclusion: Bookpay applies in the request" not in text
