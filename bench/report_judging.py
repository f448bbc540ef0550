"""How docs/benchmarks.md judges a target: met or missed from a ratio of the same run's
figures, or named not measured (no figure) or not judged (measured with the server starved),
never a silent 0 %. The Report (bench/report.py) keeps the targets and their explanations."""

from __future__ import annotations

from typing import Any

from bench import report_costs as costs
from bench.checks import Checks

Target = tuple[str, str, bool]
# The measured value of a target whose figure or ceiling this run lacks (bench.run skipped
# the scenario on request, or a figure is missing): never a ratio of 0 %.
NOT_MEASURED = "not measured"
# The measured value of a target whose ceiling, reference or own figure was starved of CPU.
NOT_JUDGED = "not judged"


class TargetJudge:
    """The targets of a report, what explains each, and why some could not be judged;
    bench/report.py's Report declares the fields."""

    checks: Checks
    targets: list[Target]
    explanations: dict[str, str]
    unjudged: dict[str, str]

    def _add(self, target: Target, *why: str) -> None:
        self.targets.append(target)
        self.explanations[target[0]] = " and ".join(why)

    def _not_measured(self, name: str, missing: str, *, skipped: bool = False) -> None:
        """A target this run has no figure for: named so, never a 0 % miss. A figure missing
        from a scenario that ran fails the run's checks; a scenario skipped on request
        (bench.run's options, shown in the header's command) does not."""
        self._add((name, f"{NOT_MEASURED} ({missing})", False), missing)
        if not skipped:
            self.checks.expect(False, f"target measured: {name} ({missing})")

    def _not_judged(self, name: str, role: str, why: str, *links: str) -> None:
        """A target whose ceiling, reference or own figure was measured with the server
        starved (report_costs.starved, starved_figure): neither met nor missed, and listed
        apart from the correctness checks, failing the run too, so that a run on a busy
        machine says it cannot judge instead of passing or failing silently."""
        self._add((name, f"{NOT_JUDGED} ({role} starved: {why})", False), *links)
        self.unjudged[name] = f"its {role} was measured with the server starved: {why}"
        self.checks.cannot_judge(f"{name} ({self.unjudged[name]})")

    def _ratio(
        self,
        name: str,
        fig: dict[str, Any] | None,
        ceiling: dict[str, Any] | None,
        what: str,
        *links: str,
        role: str = "ceiling",
    ) -> float | None:
        """`fig`'s throughput over `ceiling`'s, or None (the target then named not measured
        or not judged): a missing figure, a ceiling that is missing or measured no request,
        a ceiling measured with the server starved, or the figure itself measured with the
        server starved by other load."""
        if fig is None or "rps" not in fig:
            self._not_measured(name, f"no {what} figure")
            return None
        if ceiling is None or not float(ceiling.get("rps") or 0.0) > 0:
            self._not_measured(name, f"no {role} for {what}")
            return None
        why = costs.starved(ceiling)
        if why is not None:
            self._not_judged(name, role, why, *links)
            return None
        why = costs.starved_figure(fig)
        if why is not None:
            self._not_judged(name, "figure", why, *links)
            return None
        return float(fig["rps"]) / float(ceiling["rps"])
