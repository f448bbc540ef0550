"""docs/benchmarks.md: every figure with its ceiling from the same run, the targets of issue
19 marked met or missed, the correctness checks, the machine, versions and commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench import report_costs as costs
from bench import report_growth, report_header, report_latency, report_profiles
from bench import report_queue_storm as queue_storm
from bench import report_scenarios as scenarios
from bench import report_sections as sections
from bench import report_storm as storm_choice
from bench.checks import Checks
from bench.configs import ConfigResult
from bench.growth import GrowthResult
from bench.load import LoadSettings
from bench.profiling import profile_key, queue_storm_profile_key, storm_profile_key
from bench.report_judging import Target, TargetJudge
from bench.scenarios import LatencyResult
from bench.storms import STORM_CONNECTIONS, STORM_WORKERS, StormResult


def _link(title: str) -> str:
    return f"[{title}]({sections.anchor(title)})"


@dataclass
class Report(TargetJudge):
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
    # Why each target not judged could not be (by target name).
    unjudged: dict[str, str] = field(default_factory=dict)

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
        """The configuration's costs section, and the profile of that load (`key`:
        checkout, webhooks, availability, book_page) when bench/profiling.py takes one: on
        one worker every load of PostgreSQL served directly and of SQLite, the checkout and
        the webhooks through PgBouncer; on two workers (their supervisor and both workers
        sampled together) the checkout and the webhooks on each database."""
        links = [costs.costs_link(config)]
        if config.nodelay:
            return links
        name = profile_key(key, config.database, config.pgbouncer, config.workers)
        if name not in self.profiles:
            # A two-worker miss: the same load's profile on one worker of that database.
            name = profile_key(key, config.database, config.pgbouncer)
        title = sections.profile_title(name)
        links.append(_link(title) if name in self.profiles else sections.NO_PROFILE)
        return links

    def evaluate(self) -> None:
        add = self._add
        for config in self.configs:
            floor = 0.4 if config.database == "sqlite" else None
            for key, share in (("checkout", floor or 0.4), ("webhooks", floor or 0.5)):
                name = f"{key} ≥ {100 * share:.0f} % of the one-insert ceiling ({config.where})"
                fig = config.figures.get(key)
                ratio = self._ratio(
                    name, fig, config.figures.get("ceiling_insert"), key, *self._why(config, key)
                )
                if ratio is None or fig is None:
                    continue
                add(
                    (
                        name,
                        f"{100 * ratio:.0f} %" + _with_errors(fig),
                        ratio >= share and _answered_well(fig),
                    ),
                    *self._why(config, key),
                )
            if not config.pgbouncer:
                for key in ("availability", "book_page"):
                    label = sections.NAMES[key][0]
                    name = f"{label} ≥ 25 % of the bare JSON ceiling ({config.where})"
                    fig = config.figures.get(key)
                    ratio = self._ratio(
                        name,
                        fig,
                        config.figures.get("ceiling_json"),
                        key,
                        *self._why(config, key),
                    )
                    if ratio is None or fig is None:
                        continue
                    add(
                        (
                            name,
                            f"{100 * ratio:.0f} %" + _with_errors(fig),
                            ratio >= 0.25 and _answered_well(fig),
                        ),
                        *self._why(config, key),
                    )
            name = f"peak memory ≤ 150 MB per server process ({config.where})"
            peaks = [row["peak_mb"] for row in config.memory.get("bookpay", [])]
            if not peaks:
                self._not_measured(name, "no server process's memory")
            else:
                add(
                    (name, f"{max(peaks):.0f} MB", max(peaks) <= 150),
                    sections.explained_by("peak memory", self.profiles),
                )
            self._spread_target(config)
        self._latency_targets()
        self._storm_target()
        self._growth_target()

    def _storm_name(self, storm: StormResult | None = None, queued: bool = False) -> str:
        """The storm's target; `queued`: the same storm's in queue mode (acknowledgements)."""
        storm = storm or self.storm
        workers = storm.workers if storm is not None else STORM_WORKERS
        events = f"{storm.events:,}" if storm is not None else "10,000"
        return (
            f"webhook storm{' in queue mode' if queued else ''} ({events} events, 20 % "
            f"duplicates, {STORM_CONNECTIONS} connections) "
            f"{'acknowledged ' if queued else ''}≥ 50 % of the one-insert ceiling (postgres, "
            f"{_workers(workers)})"
        )

    def _storm_unjudged(self) -> str | None:
        """Why the storm's figures cannot be judged: its target's reason, or, when the
        target stopped short of judging (no ceiling in this run), its own figure's."""
        why = self.unjudged.get(self._storm_name())
        if why is None and self.storm is not None and self.storm.figure:
            own = costs.starved_figure(self.storm.figure)
            why = None if own is None else f"its figure was measured with the server starved: {own}"
        return why

    def _storm_target(self) -> None:
        self._one_storm_target(self.storm)
        if self.storm is not None and self.storm.queued is not None:
            self._one_storm_target(self.storm.queued)

    def _one_storm_target(self, storm: StormResult | None) -> None:
        queued = storm is not None and storm.mode == "queue"
        name = self._storm_name(storm, queued)
        section = _link(queue_storm.QUEUE_STORM_TITLE if queued else "Webhook storm")
        if storm is None:
            self._not_measured(name, "not run: --storm-events 0", skipped=True)
            return
        same = self.config("postgres", storm.workers)
        if same is None:
            # bench.run measures the configurations it is asked for: one left out gives no
            # ceiling, on request (a partial run), not by a failure.
            self._not_measured(
                name, f"no postgres {_workers(storm.workers)} ceiling in this run", skipped=True
            )
            return
        ceiling = same.figures.get("ceiling_insert")
        ratio = self._ratio(
            name,
            storm.figure or None,
            ceiling,
            "webhook storm",
            costs.costs_link(same),
            *self._storm_profile(queued),
        )
        if ratio is None:
            return
        applied = (
            f", every event applied within {queue_storm.applied_within(storm):.0f} s"
            if queued and storm.drain.get("drained")
            else ", the queue NOT drained"
            if queued
            else ""
        )
        self._add(
            (
                name,
                f"{100 * ratio:.0f} %, p99 {storm.figure['p99_ms']:.0f} ms{applied}"
                + _with_errors(storm.figure),
                ratio >= 0.5
                and _answered_well(storm.figure)
                and (not queued or bool(storm.drain.get("drained"))),
            ),
            section,
            _link(storm_choice.STORM_CHOICE_TITLE),
            *self._storm_profile(queued),
        )

    def _storm_profile(self, queued: bool = False) -> list[str]:
        """The profile of the storm's load (its workers and connections; `queued`: in queue
        mode) when one was taken."""
        name = queue_storm_profile_key() if queued else storm_profile_key()
        if name not in self.profiles:
            return []
        return [_link(sections.profile_title(name))]

    def _growth_target(self) -> None:
        name = "availability p99 at 1M bookings ≤ 1.5 × at 1k (postgres, 1 worker, medians)"
        if self.growth is None:
            self._not_measured(name, "not run: --no-growth", skipped=True)
            return
        small = self.growth.figures.get("availability_small") or {}
        large = self.growth.figures.get("availability_large") or {}
        if not float(small.get("p99_ms") or 0.0) > 0 or "p99_ms" not in large:
            self._not_measured(name, "no availability p99 at both sizes")
            return
        ratio = float(large["p99_ms"]) / float(small["p99_ms"])
        self._add(
            (
                name,
                f"{ratio:.2f} ×" + _with_errors({"errors": _errors(large) + _errors(small)}),
                ratio <= 1.5 and _answered_well(large) and _answered_well(small),
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
        shown = latency or LatencyResult()
        throughput = (
            f"checkout with gateway latency (p50 {shown.p50_ms} ms), {shown.customers} "
            "customers ≥ 80 % of the zero-latency checkout (postgres, 1 worker)"
        )
        bound = shown.p99_ms + 150
        tail = (
            f"checkout p99 at half load ({shown.customers // 2} customers) ≤ injected p99 "
            f"+ 150 ms = {bound} ms"
        )
        if latency is None:
            for name in (throughput, tail):
                self._not_measured(name, "not run: --no-latency", skipped=True)
            return
        if direct is None:
            for name in (throughput, tail):  # as for the storm: a configuration left out
                self._not_measured(
                    name, "no postgres 1 worker configuration in this run", skipped=True
                )
            return
        full = latency.figures.get("full")
        reference = direct.figures.get("checkout")
        starved = costs.starved(reference) if reference is not None else None
        if full is None or reference is None or not float(reference.get("rps") or 0.0) > 0:
            self._not_measured(
                throughput,
                "no zero-latency checkout of postgres, 1 worker"
                if full is not None
                else "no figure at full load",
            )
        elif starved is not None:
            self._not_judged(throughput, "reference", starved, costs.costs_link(direct))
        elif (own := costs.starved_figure(full)) is not None:
            self._not_judged(throughput, "figure", own, _link(report_latency.LATENCY_QUEUE_TITLE))
        else:
            # Checkouts started (201) per second: a 503 is not a checkout.
            seconds = max(float(full.get("seconds") or 0.0), 1e-9)
            started = full.get("statuses", {}).get("201", 0) / seconds
            ratio = started / float(reference["rps"])
            self._add(
                (
                    throughput,
                    f"{100 * ratio:.0f} % ({started:.0f} started/s vs "
                    f"{float(reference['rps']):.0f} req/s)",
                    ratio >= 0.8,
                ),
                _link(report_latency.LATENCY_QUEUE_TITLE),
                sections.explained_by("gateway latency", self.profiles),
            )
        half = latency.figures.get("half")
        if half is None or "p99_ms" not in half:
            self._not_measured(tail, "no figure at half load")
            return
        if (own := costs.starved_figure(half)) is not None:
            self._not_judged(tail, "figure", own, _link(report_latency.LATENCY_QUEUE_TITLE))
            return
        self._add(
            (tail, f"{half['p99_ms']:.0f} ms", half["p99_ms"] <= bound),
            _link(report_latency.LATENCY_QUEUE_TITLE),
            sections.explained_by("p99 at half load", self.profiles),
        )

    def markdown(self) -> str:
        out: list[str] = []
        report_header.header(out, self)
        sections.targets(out, self.targets, self.checks, self.explanations, self.profiles)
        sections.throughput(out, self.configs)
        costs.costs(out, self.configs)
        if self.latency is not None:
            scenarios.latency(out, self.latency, self.config("postgres", 1))
            report_latency.latency_queue(out, self.latency)
        if self.storm is not None:
            scenarios.storm(out, self.storm, self.config("postgres", self.storm.workers))
            storm_choice.storm_apply_share(
                out,
                self.storm,
                self.config("postgres", 1),
                self._storm_unjudged(),
            )
            queue_storm.queue_storm(out, self.storm, self.config("postgres", self.storm.workers))
        scenarios.pgbouncer(out, self.configs)
        scenarios.worker_share(out, self.configs)
        sections.webhooks_once(out, self.configs)
        sections.memory(out, self.configs)
        if self.growth is not None:
            report_growth.growth(out, self.growth)
        sections.quotes(out, self.quotes)
        report_profiles.profiles(out, self.profiles)
        sections.findings(out)
        return "\n".join(out)


def _workers(count: int) -> str:
    return f"{count} worker{'s' if count != 1 else ''}"


def _answered_well(figure: dict[str, Any]) -> bool:
    """A throughput counts only when every answer was the expected one: requests per
    second of 503s are no throughput (the correctness checks fail the run on them too)."""
    return not figure.get("errors") and not figure.get("warmup_errors")


def _errors(figure: dict[str, Any]) -> int:
    return int(figure.get("errors") or 0) + int(figure.get("warmup_errors") or 0)


def _with_errors(figure: dict[str, Any]) -> str:
    errors = _errors(figure)
    return f" ({errors:,} errors)" if errors else ""
