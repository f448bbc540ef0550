"""The pure half of `python -m bench.before_after`: the configurations, the order of the
loads, their aggregation (median and range over the rounds) and the Markdown table.

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
class Configuration:
    """A database and a number of workers, which every side is served with in turn."""

    name: str
    database: str  # "postgres" or "sqlite"
    workers: int

    @property
    def title(self) -> str:
        """'PostgreSQL, 1 worker', 'SQLite, 1 worker', 'PostgreSQL, 2 workers'."""
        database = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[self.database]
        return f"{database}, {self.workers} worker{'s' if self.workers != 1 else ''}"


CONFIGURATIONS = {
    one.name: one
    for one in (
        Configuration("postgres-1", "postgres", 1),
        Configuration("sqlite-1", "sqlite", 1),
        Configuration("postgres-2", "postgres", 2),
    )
}


def configurations(names: str) -> list[Configuration]:
    """The configurations named, comma-separated, in the order given ('postgres-1,sqlite-1');
    ValueError names any unknown one."""
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in CONFIGURATIONS]
    if unknown or not wanted:
        raise ValueError(
            f"unknown configurations: {', '.join(unknown) or '(none given)'} "
            f"(known: {', '.join(CONFIGURATIONS)})"
        )
    return [CONFIGURATIONS[name] for name in dict.fromkeys(wanted)]


@dataclass(frozen=True)
class Step:
    round: int
    figure: str
    tree: str


def orders(trees: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The orders the rounds take the trees in, in turn: each turn of the list (A B C,
    B C A, C A B), each followed by itself reversed (C B A, A C B, B A C), an order met
    before left out. So every tree goes first as often as the others, and each is loaded
    right after each other one alike (a turn keeps who follows whom, a reversal swaps
    it). With two trees: A B, then B A."""
    found: list[tuple[str, ...]] = []
    for turn in range(len(trees)):
        order = trees[turn:] + trees[:turn]
        for one in (order, order[::-1]):
            if one not in found:
                found.append(one)
    return found


def schedule(rounds: int, figures: Iterable[str], trees: tuple[str, ...]) -> list[Step]:
    """Every round measures every figure on every tree, one right after the other, so
    whatever the machine does slowly over minutes touches all alike; the order changes
    each round (`orders`), so no tree is always the one loaded right after another's
    writes (autovacuum, checkpoints)."""
    figures = list(figures)
    turns = orders(trees)
    return [
        Step(number, figure, tree)
        for number in range(1, rounds + 1)
        for figure in figures
        for tree in turns[(number - 1) % len(turns)]
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


def table(samples: Samples, figures: Iterable[str], trees: tuple[str, ...]) -> list[str]:
    """The side-by-side table: per figure, each tree's req/s, p50 and p99 (median over the
    rounds, range in brackets), then each later tree over the first (the base) of the
    medians (req/s: above 1 is faster; p50 and p99: below 1 is faster)."""
    base, *others = trees
    columns = [f"{tree} {what}" for tree in trees for what in ("req/s", "p50 ms", "p99 ms")]
    columns += [f"{tree}/{base} {what}" for tree in others for what in ("req/s", "p50", "p99")]
    lines = [
        "| figure | " + " | ".join(columns) + " | runs |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for name in figures:
        found = [samples.figure(name, tree) for tree in trees]
        title = FIGURE_TITLES.get(name, name)
        measured = [one for one in found if one is not None]
        if len(measured) < len(found):
            lines.append(f"| {title} | not measured" + " |" * (len(columns) + 1))
            continue
        old = measured[0]
        cells = [
            _spread(spread) for one in measured for spread in (one.rps, one.p50_ms, one.p99_ms)
        ]
        cells += [
            _ratio_text(ratio(new, was))
            for one in measured[1:]
            for new, was in (
                (one.rps.median, old.rps.median),
                (one.p50_ms.median, old.p50_ms.median),
                (one.p99_ms.median, old.p99_ms.median),
            )
        ]
        runs = " + ".join(str(one.runs) for one in measured)
        lines.append("| " + " | ".join([title, *cells, runs]) + " |")
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
