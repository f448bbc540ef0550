"""The pure half of `python -m bench.before_after`: the order of the loads, their
aggregation (median and range over the rounds) and the Markdown table.

No process, server or clock here, so it is tested as it is (tests/unit).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

FIGURES = ("availability", "checkout", "webhooks")
FIGURE_TITLES = {
    "availability": "availability (public GET …/slots, 60 slots, 50 a page)",
    "checkout": "checkout (1 seat, fake gateway)",
    "webhooks": "webhooks (checkout.session.completed, 20 % duplicates)",
}


@dataclass(frozen=True)
class Step:
    round: int
    figure: str
    tree: str


def schedule(rounds: int, figures: Iterable[str], trees: tuple[str, str]) -> list[Step]:
    """Every round measures every figure on both trees, one right after the other, so
    whatever the machine does slowly over minutes touches both alike; the pair's order
    turns each round (A B, then B A), so neither tree is always the one loaded right after
    the other's writes (autovacuum, checkpoints)."""
    figures = list(figures)
    return [
        Step(number, figure, tree)
        for number in range(1, rounds + 1)
        for figure in figures
        for tree in (trees if number % 2 else trees[::-1])
    ]


@dataclass(frozen=True)
class Sample:
    """One load's figures as bench.loadgen reports them."""

    rps: float
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, summary: dict[str, float]) -> Sample:
        return cls(float(summary["rps"]), float(summary["p50_ms"]), float(summary["p99_ms"]))


@dataclass(frozen=True)
class Spread:
    """The median of a figure over the rounds, and its lowest and highest."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        if not values:
            raise ValueError("a spread of no values")
        return cls(statistics.median(values), min(values), max(values))


@dataclass(frozen=True)
class TreeFigure:
    rps: Spread
    p50_ms: Spread
    p99_ms: Spread
    runs: int

    @classmethod
    def of(cls, samples: list[Sample]) -> TreeFigure:
        return cls(
            Spread.of([s.rps for s in samples]),
            Spread.of([s.p50_ms for s in samples]),
            Spread.of([s.p99_ms for s in samples]),
            len(samples),
        )


@dataclass
class Samples:
    """Every load's sample, by figure and tree, in the order measured."""

    by: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)

    def add(self, step: Step, sample: Sample) -> None:
        self.by.setdefault((step.figure, step.tree), []).append(sample)

    def figure(self, figure: str, tree: str) -> TreeFigure | None:
        found = self.by.get((figure, tree))
        return TreeFigure.of(found) if found else None


def ratio(head: float, base: float) -> float | None:
    """head / base, or None when the base measured nothing."""
    return head / base if base > 0 else None


def _spread(spread: Spread) -> str:
    """'460 (440–500)'; one decimal where the median is under 100 ('27.0 (26.0–29.0)')."""
    digits = 0 if spread.median >= 100 else 1
    low, median, high = (f"{v:,.{digits}f}" for v in (spread.low, spread.median, spread.high))
    return f"{median} ({low}–{high})"


def _ratio_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} ×"


def table(samples: Samples, figures: Iterable[str], trees: tuple[str, str]) -> list[str]:
    """The side-by-side table: per figure, each tree's req/s, p50 and p99 (median over the
    rounds, range in brackets), and head/base of the medians (req/s: above 1 is faster;
    p50 and p99: below 1 is faster)."""
    base, head = trees
    lines = [
        f"| figure | {base} req/s | {base} p50 ms | {base} p99 ms | {head} req/s | "
        f"{head} p50 ms | {head} p99 ms | {head}/{base} req/s | {head}/{base} p50 | "
        f"{head}/{base} p99 | runs |",
        "|---|" + "---:|" * 10,
    ]
    for name in figures:
        old, new = samples.figure(name, base), samples.figure(name, head)
        if old is None or new is None:
            lines.append(f"| {FIGURE_TITLES.get(name, name)} | not measured" + " |" * 10)
            continue
        lines.append(
            "| "
            + " | ".join(
                [
                    FIGURE_TITLES.get(name, name),
                    _spread(old.rps),
                    _spread(old.p50_ms),
                    _spread(old.p99_ms),
                    _spread(new.rps),
                    _spread(new.p50_ms),
                    _spread(new.p99_ms),
                    _ratio_text(ratio(new.rps.median, old.rps.median)),
                    _ratio_text(ratio(new.p50_ms.median, old.p50_ms.median)),
                    _ratio_text(ratio(new.p99_ms.median, old.p99_ms.median)),
                    f"{old.runs} + {new.runs}",
                ]
            )
            + " |"
        )
    return lines


def order_line(steps: list[Step]) -> str:
    """The order the loads ran in, as the report states it ('round 1: availability base
    head, checkout base head; round 2: availability head base, …; 5 rounds')."""
    if not steps:
        return "nothing measured"
    rounds = sorted({step.round for step in steps})

    def one(number: int) -> str:
        taken = [step for step in steps if step.round == number]
        return f"round {number}: " + ", ".join(
            f"{figure} " + " ".join(s.tree for s in taken if s.figure == figure)
            for figure in dict.fromkeys(s.figure for s in taken)
        )

    shown = "; ".join(one(number) for number in rounds[:2])
    more = "; and so on" if len(rounds) > 2 else ""
    return f"{shown}{more} ({len(rounds)} round{'s' if len(rounds) != 1 else ''})"
