"""Which py-spy profiles a run takes: those that explain its missed targets (issue 19: "each
target marked met or missed, with the profile that explains a miss"), read from a first
evaluation of the run's figures before any profile is taken. A met target needs none; a
target not measured or not judged (its figures starved of CPU) is neither met nor missed,
and a profile would not judge it."""

from __future__ import annotations

from bench.profiling import LOADS, profile_key, queue_storm_profile_key, storm_profile_key
from bench.report import Report
from bench.report_judging import NOT_JUDGED, NOT_MEASURED
from bench.report_sections import EXPLANATIONS


def needed_profiles(report: Report) -> set[str]:
    """The profile names (profiling.profile_key) that explain `report`'s missed targets
    (evaluated): a load's on the one-worker configuration of the same database (a
    two-worker miss links it), the storm's load (applied in the request, or in queue mode
    for the queue-mode storm's target), the checkout under Stripe's latency."""
    needed: set[str] = set()
    for name, value, ok in report.targets:
        if ok or value.startswith((NOT_MEASURED, NOT_JUDGED)):
            continue
        if name.startswith("webhook storm in queue mode"):
            needed.add(queue_storm_profile_key())
            continue
        scenario = next((found for words, _, found in EXPLANATIONS if words in name), None)
        if name.startswith("webhook storm ("):
            needed.add(storm_profile_key())
        elif scenario in LOADS:
            needed.update(
                profile_key(scenario, config.database, config.pgbouncer)
                for config in report.configs
                if name.endswith(f"({config.where})")
            )
        elif scenario is not None and scenario.startswith("checkout_latency"):
            needed.add(scenario)
    return needed
