"""The pure parts of `python -m bench.before_after`: the changing order of the loads (two
sides or three), the median and range over the rounds, and the side-by-side table with a
ratio to the base for every later side. No timing here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import before_after
from bench import before_after_writer as writer
from bench.before_after_report import (
    CONFIGURATIONS,
    Configuration,
    Sample,
    Samples,
    Spread,
    Step,
    configurations,
    order_line,
    orders,
    ratio,
    schedule,
    table,
)
from bench.before_after_trees import PACKAGES, Tree
from bench.before_after_writer import Part, Run, write_report
from bench.checks import Checks
from bench.load import LoadSettings

TREES = ("base", "head")
THREE = ("base", "head", "head-without")


def test_the_before_after_command_imports() -> None:
    assert callable(before_after.main)


def test_by_default_every_side_is_compared_on_postgresql_and_sqlite_with_one_and_two_workers() -> (
    None
):
    assert list(CONFIGURATIONS.values()) == [
        Configuration("postgres-1", "postgres", 1),
        Configuration("sqlite-1", "sqlite", 1),
        Configuration("postgres-2", "postgres", 2),
    ]
    assert [one.title for one in CONFIGURATIONS.values()] == [
        "PostgreSQL, 1 worker",
        "SQLite, 1 worker",
        "PostgreSQL, 2 workers",
    ]
    assert configurations(",".join(CONFIGURATIONS)) == list(CONFIGURATIONS.values())


def test_configurations_are_picked_by_name_in_the_order_given() -> None:
    assert [c.name for c in configurations("postgres-2, sqlite-1,postgres-2")] == [
        "postgres-2",
        "sqlite-1",
    ]
    with pytest.raises(ValueError, match="unknown configurations: sqlite-2"):
        configurations("postgres-1,sqlite-2")
    with pytest.raises(ValueError, match="none given"):
        configurations(" , ")


def test_each_round_measures_every_figure_on_both_trees_one_after_the_other() -> None:
    steps = schedule(2, ["availability", "checkout"], TREES)

    assert [(s.round, s.figure, s.tree) for s in steps] == [
        (1, "availability", "base"),
        (1, "availability", "head"),
        (1, "checkout", "base"),
        (1, "checkout", "head"),
        (2, "availability", "head"),
        (2, "availability", "base"),
        (2, "checkout", "head"),
        (2, "checkout", "base"),
    ]


def test_each_tree_goes_first_in_every_other_round() -> None:
    steps = schedule(5, ["webhooks"], TREES)

    pairs = [(steps[i].tree, steps[i + 1].tree) for i in range(0, len(steps), 2)]
    assert pairs == [("base", "head"), ("head", "base")] * 2 + [("base", "head")]
    assert [s.tree for s in steps].count("head") == 5


def test_with_three_sides_the_rounds_take_every_order_once_before_any_repeats() -> None:
    assert orders(THREE) == [
        ("base", "head", "head-without"),
        ("head-without", "head", "base"),
        ("head", "head-without", "base"),
        ("base", "head-without", "head"),
        ("head-without", "base", "head"),
        ("head", "base", "head-without"),
    ]
    assert orders(TREES) == [("base", "head"), ("head", "base")]

    steps = schedule(7, ["checkout", "webhooks"], THREE)

    assert len(steps) == 7 * 2 * 3
    first = [s.tree for s in steps if s.round == 1 and s.figure == "webhooks"]
    seventh = [s.tree for s in steps if s.round == 7 and s.figure == "checkout"]
    assert first == seventh == list(THREE)


def test_with_three_sides_each_is_loaded_right_after_each_other_alike() -> None:
    """Over a whole turn of the orders (6 rounds), whatever the figures: each side goes
    first in two rounds and follows each other side as often as the other way round."""
    steps = schedule(6, ["availability", "checkout", "webhooks"], THREE)

    firsts = [next(s.tree for s in steps if s.round == n) for n in range(1, 7)]
    assert {side: firsts.count(side) for side in THREE} == dict.fromkeys(THREE, 2)
    followed = [(steps[i].tree, steps[i + 1].tree) for i in range(len(steps) - 1)]
    for side in THREE:
        before = {other: followed.count((other, side)) for other in THREE if other != side}
        assert max(before.values()) - min(before.values()) <= 1, (side, before)


def test_a_spread_is_the_median_and_the_range() -> None:
    assert Spread.of([300.0, 100.0, 200.0, 900.0, 250.0]) == Spread(250.0, 100.0, 900.0)
    assert Spread.of([1.0, 3.0]) == Spread(2.0, 1.0, 3.0)
    with pytest.raises(ValueError, match="no values"):
        Spread.of([])


def test_samples_are_kept_per_figure_and_tree() -> None:
    samples = Samples()
    rps = {"base": iter([100.0, 120.0, 110.0]), "head": iter([90.0, 80.0, 95.0])}
    for step in schedule(3, ["checkout"], TREES):
        value = next(rps[step.tree])
        samples.add(step, Sample(value, 10.0, 50.0 + value))

    base = samples.figure("checkout", "base")
    head = samples.figure("checkout", "head")
    assert base is not None
    assert head is not None
    assert base.rps == Spread(110.0, 100.0, 120.0)
    assert head.rps == Spread(90.0, 80.0, 95.0)
    assert head.p99_ms == Spread(140.0, 130.0, 145.0)
    assert head.runs == 3
    assert samples.figure("availability", "base") is None


def test_a_sample_is_read_from_the_load_generators_summary() -> None:
    summary = {"rps": 512.5, "p50_ms": 3.25, "p99_ms": 40.0, "errors": 0}

    assert Sample.of(summary) == Sample(512.5, 3.25, 40.0)


def test_the_ratio_is_head_over_base_and_absent_without_a_base() -> None:
    assert ratio(150.0, 100.0) == pytest.approx(1.5)
    assert ratio(10.0, 0.0) is None


def test_the_table_shows_medians_ranges_and_ratios() -> None:
    samples = Samples()
    steps = schedule(3, ["availability", "webhooks"], TREES)
    values = {
        ("availability", "base"): [Sample(400, 30, 60), Sample(420, 32, 64), Sample(380, 28, 70)],
        ("availability", "head"): [Sample(440, 29, 58), Sample(460, 27, 61), Sample(500, 26, 66)],
        ("webhooks", "base"): [Sample(200, 70, 150), Sample(210, 72, 160), Sample(190, 68, 140)],
        ("webhooks", "head"): [Sample(100, 140, 300), Sample(105, 150, 310), Sample(95, 160, 320)],
    }
    taken = {key: iter(found) for key, found in values.items()}
    for step in steps:
        samples.add(step, next(taken[(step.figure, step.tree)]))

    lines = table(samples, ["availability", "checkout", "webhooks"], TREES)

    assert lines[0].startswith("| figure | base req/s | base p50 ms | base p99 ms | head req/s")
    availability = next(line for line in lines if line.startswith("| availability"))
    cells = [cell.strip() for cell in availability.strip("|").split("|")]
    assert cells[1:] == [
        "400 (380–420)",
        "30.0 (28.0–32.0)",
        "64.0 (60.0–70.0)",
        "460 (440–500)",
        "27.0 (26.0–29.0)",
        "61.0 (58.0–66.0)",
        "1.15 ×",
        "0.90 ×",
        "0.95 ×",
        "3 + 3",
    ]
    webhooks = next(line for line in lines if line.startswith("| webhooks"))
    assert "| 100 (95–105) | 150 (140–160) | 310 (300–320) |" in webhooks
    assert "| 0.50 × | 2.14 × | 2.07 × |" in webhooks
    checkout = next(line for line in lines if line.startswith("| checkout"))
    assert "not measured" in checkout
    assert all(line.count("|") == lines[0].count("|") for line in lines)


def test_with_three_sides_the_table_has_each_later_side_over_the_base() -> None:
    samples = Samples()
    values = {
        "base": [Sample(200, 70, 150), Sample(210, 72, 160)],
        "head": [Sample(100, 140, 300), Sample(110, 150, 320)],
        "head-without": [Sample(180, 80, 170), Sample(190, 76, 150)],
    }
    taken = {tree: iter(found) for tree, found in values.items()}
    for step in schedule(2, ["webhooks"], THREE):
        samples.add(step, next(taken[step.tree]))

    lines = table(samples, ["webhooks", "checkout"], THREE)

    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == [
        "figure",
        *(f"{tree} {what}" for tree in THREE for what in ("req/s", "p50 ms", "p99 ms")),
        "head/base req/s",
        "head/base p50",
        "head/base p99",
        "head-without/base req/s",
        "head-without/base p50",
        "head-without/base p99",
        "runs",
    ]
    webhooks = next(line for line in lines if line.startswith("| webhooks"))
    cells = [cell.strip() for cell in webhooks.strip("|").split("|")]
    assert cells[1:] == [
        "205 (200–210)",
        "71.0 (70.0–72.0)",
        "155 (150–160)",
        "105 (100–110)",
        "145 (140–150)",
        "310 (300–320)",
        "185 (180–190)",
        "78.0 (76.0–80.0)",
        "160 (150–170)",
        "0.51 ×",
        "2.04 ×",
        "2.00 ×",
        "0.90 ×",
        "1.10 ×",
        "1.03 ×",
        "2 + 2 + 2",
    ]
    checkout = next(line for line in lines if line.startswith("| checkout"))
    assert "not measured" in checkout
    assert all(line.count("|") == lines[0].count("|") for line in lines)


def test_the_order_line_says_what_ran_after_what() -> None:
    steps = schedule(4, ["availability", "checkout"], TREES)

    assert order_line(steps) == (
        "round 1: availability base head, checkout base head; "
        "round 2: availability head base, checkout head base; and so on (4 rounds)"
    )
    assert order_line([Step(1, "checkout", "base")]) == "round 1: checkout base (1 round)"
    assert order_line([]) == "nothing measured"


def test_the_report_has_one_table_per_configuration_and_says_what_head_without_takes_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "_postgres_version", lambda: "15.0")
    monkeypatch.setattr(writer, "_subject", lambda commit: f"subject of {commit}")
    monkeypatch.setattr(writer, "_machine", lambda: "2 cores")
    trees = {
        "base": Tree("base", tmp_path, tmp_path, "94bff09"),
        "head": Tree("head", tmp_path, tmp_path, "abc1234"),
        "head-without": Tree("head-without", tmp_path, tmp_path, "abc1234", "bench.as_before"),
    }
    run = Run(
        datetime(2026, 12, 1, tzinfo=UTC),
        "make it",
        LoadSettings(4, 1, 16),
        "load average 0.1, 0.1, 0.1",
    )
    run.trees = trees
    run.versions = dict.fromkeys(trees, dict.fromkeys(("Python", *PACKAGES), "1"))
    checks = Checks()
    checks.expect(True, "one check")
    for configuration in CONFIGURATIONS.values():
        steps = schedule(1, ["checkout"], THREE)
        samples = Samples()
        for step in steps:
            samples.add(step, Sample(100.0 * configuration.workers, 10.0, 20.0))
        run.parts.append(Part(configuration, steps, samples))

    text = write_report(tmp_path / "report.md", run, ["checkout"], checks, 0)

    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert titles[:3] == [
        "## PostgreSQL, 1 worker",
        "## SQLite, 1 worker",
        "## PostgreSQL, 2 workers",
    ]
    assert sum(line.startswith("| figure |") for line in text.splitlines()) == 3
    assert text.count("| checkout (1 seat, fake gateway) |") == 3
    assert "`bookpay serve --workers 2` on a PostgreSQL database" in text
    assert "on an SQLite file" in text
    assert "nothing of 48c4eb3 to take away" in text
    # What head-without holds equal (bench/as_before.py), and what it leaves, by name.
    assert "pings it, as the base's `pool_pre_ping` did" in text
    assert "the base's statement on `lower(customer_email)`" in text
    assert "Not undone: the fake Stripe's one-statement read" in text
    assert "What still differs from the base and is not issue 18's" in text
    assert "All 1 checks held." in text
    assert (tmp_path / "report.md").read_text() == text
