"""docs/benchmarks.md: every figure with its ceiling from the same run, the targets of issue
19 marked met or missed, the correctness checks, the machine, versions and commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench import report_costs as costs
from bench import report_scenarios as scenarios
from bench import report_sections as sections
from bench.checks import Checks
from bench.configs import ConfigResult
from bench.growth import GrowthResult
from bench.load import LoadSettings
from bench.scenarios import LatencyResult, StormResult

Target = tuple[str, str, bool]
# Scenarios with a py-spy profile of their own (bench/profiling.py), by target name.
PROFILED = ("checkout", "webhooks")


def _link(title: str) -> str:
    return f"[{title}]({sections.anchor(title)})"


@dataclass
class Report:
    started: datetime
    load: LoadSettings
    command: str
    configs: list[ConfigResult]
    latency: LatencyResult | None
    storm: StormResult | None
    growth: GrowthResult | None
    quotes: dict[str, dict[str, float]]
    profiles: dict[str, dict[str, Any]]
    checks: Checks
    runtime_seconds: float = 0.0
    # What ran bench.run, when not a person (`make bench`); None: bench.run directly.
    invoked_by: str | None = None
    targets: list[Target] = field(default_factory=list)
    # What explains each target when missed: links into the report (by target name).
    explanations: dict[str, str] = field(default_factory=dict)

    def _add(self, target: Target, *why: str) -> None:
        self.targets.append(target)
        self.explanations[target[0]] = " and ".join(why)

    def config(self, database: str, workers: int, pgbouncer: bool = False) -> ConfigResult | None:
        for config in self.configs:
            if (config.database, config.workers, config.pgbouncer) == (
                database,
                workers,
                pgbouncer,
            ) and not config.nodelay:
                return config
        return None

    def _why(self, config: ConfigResult, key: str) -> list[str]:
        """The configuration's costs section, and for PostgreSQL with one worker directly
        (where the profiles are taken) the profile of that load."""
        links = [costs.costs_link(config)]
        if (config.database, config.workers, config.pgbouncer) == ("postgres", 1, False):
            links.append(
                sections.explained_by(f"{key} ≥" if key in PROFILED else key, self.profiles)
            )
        return links

    def evaluate(self) -> None:
        add = self._add
        for config in self.configs:
            insert = config.figures["ceiling_insert"]["rps"]
            floor = 0.4 if config.database == "sqlite" else None
            for key, share in (("checkout", floor or 0.4), ("webhooks", floor or 0.5)):
                ratio = config.figures[key]["rps"] / insert if insert else 0.0
                add(
                    (
                        f"{key} ≥ {100 * share:.0f} % of the one-insert ceiling ({config.where})",
                        f"{100 * ratio:.0f} %" + _with_errors(config.figures[key]),
                        ratio >= share and _answered_well(config.figures[key]),
                    ),
                    *self._why(config, key),
                )
            if "availability" in config.figures:
                bare = config.figures["ceiling_json"]["rps"]
                for key in ("availability", "book_page"):
                    ratio = config.figures[key]["rps"] / bare if bare else 0.0
                    name = sections.NAMES[key][0]
                    add(
                        (
                            f"{name} ≥ 25 % of the bare JSON ceiling ({config.where})",
                            f"{100 * ratio:.0f} %" + _with_errors(config.figures[key]),
                            ratio >= 0.25 and _answered_well(config.figures[key]),
                        ),
                        *self._why(config, name),
                    )
            peak = max(row["peak_mb"] for row in config.memory["bookpay"])
            add(
                (
                    f"peak memory ≤ 150 MB per server process ({config.where})",
                    f"{peak:.0f} MB",
                    peak <= 150,
                ),
                sections.explained_by("peak memory", self.profiles),
            )
            self._spread_target(config)
        self._latency_targets()
        if self.storm is not None:
            same = self.config("postgres", self.storm.workers)
            insert = same.figures["ceiling_insert"]["rps"] if same else 0.0
            ratio = self.storm.figure["rps"] / insert if insert else 0.0
            add(
                (
                    f"webhook storm ({self.storm.events:,} events, 20 % duplicates, "
                    f"{self.storm.connections} connections) ≥ 50 % of the one-insert ceiling "
                    f"(postgres, {_workers(self.storm.workers)})",
                    f"{100 * ratio:.0f} %, p99 {self.storm.figure['p99_ms']:.0f} ms",
                    ratio >= 0.5,
                ),
                _link("Webhook storm"),
                _link(costs.STORM_CHOICE_TITLE),
            )
        if self.growth is not None:
            small = self.growth.figures["availability_small"]["p99_ms"]
            large = self.growth.figures["availability_large"]["p99_ms"]
            add(
                (
                    "availability p99 at 1M bookings ≤ 1.5 × at 1k (postgres, 1 worker, medians)",
                    f"{large / small:.2f} ×",
                    large <= 1.5 * small,
                ),
                sections.explained_by("at 1M bookings", self.profiles),
            )

    def _spread_target(self, config: ConfigResult) -> None:
        """Issue 19, item 6: the 2-worker SQLite figures spread over both workers."""
        if config.database != "sqlite" or config.workers < 2 or config.pgbouncer:
            return
        low, high = costs.SPREAD
        shares = {key: costs.spread_shares(config, key) for key in costs.SPREAD_SCENARIOS}
        ok = all(
            shares[key] and low <= min(shares[key]) and max(shares[key]) <= high for key in shares
        )
        measured = "; ".join(
            f"{key} " + " / ".join(f"{100 * v:.0f} %" for v in found)
            for key, found in shares.items()
        )
        self._add(
            (
                f"spread over both workers: each worker {100 * low:.0f}–{100 * high:.0f} % of "
                f"the server's CPU in checkout and webhooks ({config.where})",
                measured,
                ok,
            ),
            _link(scenarios.WORKER_SHARE_TITLE),
            costs.costs_link(config),
        )

    def _latency_targets(self) -> None:
        latency, direct = self.latency, self.config("postgres", 1)
        if latency is None or direct is None:
            return
        reference = direct.figures["checkout"]["rps"]
        full = latency.figures["full"]
        # Checkouts started (201) per second: a 503 is not a checkout.
        started = full.get("statuses", {}).get("201", 0) / max(full.get("seconds", 0.0), 1e-9)
        ratio = started / reference if reference else 0.0
        self._add(
            (
                f"checkout with gateway latency (p50 {latency.p50_ms} ms), {latency.customers} "
                "customers ≥ 80 % of the zero-latency checkout (postgres, 1 worker)",
                f"{100 * ratio:.0f} % ({started:.0f} started/s vs {reference:.0f} req/s)",
                ratio >= 0.8,
            ),
            _link(costs.LATENCY_QUEUE_TITLE),
            sections.explained_by("gateway latency", self.profiles),
        )
        half = latency.figures["half"]["p99_ms"]
        bound = latency.p99_ms + 150
        self._add(
            (
                f"checkout p99 at half load ({latency.customers // 2} customers) ≤ injected p99 "
                f"+ 150 ms = {bound} ms",
                f"{half:.0f} ms",
                half <= bound,
            ),
            _link(costs.LATENCY_QUEUE_TITLE),
            sections.explained_by("p99 at half load", self.profiles),
        )

    def markdown(self) -> str:
        out: list[str] = []
        sections.header(out, self)
        sections.targets(out, self.targets, self.checks, self.explanations, self.profiles)
        sections.throughput(out, self.configs)
        costs.costs(out, self.configs)
        if self.latency is not None:
            scenarios.latency(out, self.latency, self.config("postgres", 1))
            costs.latency_queue(out, self.latency)
        if self.storm is not None:
            scenarios.storm(out, self.storm, self.config("postgres", self.storm.workers))
            costs.storm_apply_share(out, self.storm, self.config("postgres", 1))
        scenarios.pgbouncer(out, self.configs)
        scenarios.worker_share(out, self.configs)
        sections.webhooks_once(out, self.configs)
        sections.memory(out, self.configs)
        if self.growth is not None:
            scenarios.growth(out, self.growth)
        sections.quotes(out, self.quotes)
        sections.profiles(out, self.profiles)
        sections.findings(out)
        return "\n".join(out)


def _workers(count: int) -> str:
    return f"{count} worker{'s' if count != 1 else ''}"


def _answered_well(figure: dict[str, Any]) -> bool:
    """A throughput counts only when every answer was the expected one: requests per
    second of 503s are no throughput (the correctness checks fail the run on them too)."""
    return not figure.get("errors") and not figure.get("warmup_errors")


def _with_errors(figure: dict[str, Any]) -> str:
    errors = int(figure.get("errors") or 0) + int(figure.get("warmup_errors") or 0)
    return f" ({errors:,} errors)" if errors else ""
