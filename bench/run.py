"""The benchmark runner behind `make bench`: real servers, a separate load process, one report.

1. For each database (PostgreSQL, SQLite) and worker count (1, 2), and for PostgreSQL with
   1 worker through PgBouncer: the ceilings (bench/calibration.py), then `bookpay serve`
   on the same throwaway database: browsing (availability, the hosted booking page),
   checkout and webhooks (bench/configs.py).
2. Checkout under Stripe's latency with 256 customers, and the race for the last seats;
   a webhook storm of 10,000 events, and of 2,000 under Stripe's latency, each applied in
   the request and then in queue mode (400 under latency, paced: bench/storms.py).
3. Growth: 1 thousand vs 1 million bookings and ledger entries (bench/growth.py).
4. Fee quotes in-process; py-spy profiles of the loads whose targets missed
   (bench/profile_choice.py); docs/benchmarks.md (bench/report*.py).

Every correctness check (exactly once, no overbooking, no pool timeout, no error) is
asserted: after writing the report the run exits 1 when any failed, or when a target could
not be judged (its figures measured starved of CPU); the last line says which.

    .venv/bin/python -m bench.run [--seconds 3] [--warmup 1] [--connections 16]
        [--output docs/benchmarks.md] [--invoked-by "make bench"]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.checks import Checks
from bench.common import ROOT, log
from bench.configs import ConfigResult, measure_configuration
from bench.growth import measure_growth
from bench.load import LoadSettings
from bench.profile_choice import needed_profiles
from bench.profiling import ensure_py_spy, profile_bookpay
from bench.quotes import measure_fee_quotes
from bench.report import Report
from bench.scenarios import measure_gateway_latency
from bench.storms import (
    QUEUE_LATENCY_EVENTS,
    measure_queue_storm,
    measure_queue_storm_under_latency,
    measure_storm_under_latency,
    measure_webhook_storm,
)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per figure")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per figure")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--history", type=int, default=1_000_000, help="bookings for growth")
    parser.add_argument("--storm-events", type=int, default=10_000)
    parser.add_argument(
        "--storm-latency-events",
        type=int,
        default=2_000,
        help="events of the storm under the gateway's latency (0 for none; needs the storm)",
    )
    parser.add_argument(
        "--no-queue-storm",
        action="store_true",
        help="no storms in queue mode (BOOKPAY_WEBHOOK_MODE=queue) beside the in-request ones",
    )
    parser.add_argument(
        "--storm-queue-latency-events",
        type=int,
        default=QUEUE_LATENCY_EVENTS,
        help="events of the queue-mode storm under latency, paced (0 for none; needs both)",
    )
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument(
        "--pgbouncer", default="1", help="worker counts served through PgBouncer ('' for none)"
    )
    parser.add_argument(
        "--nodelay",
        default="",
        help="extra database:workers configurations served through bench.nodelay ('' for none)",
    )
    parser.add_argument("--no-growth", action="store_true")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--invoked-by",
        default=None,
        help="what ran this, for the report's header (the Makefile passes 'make bench')",
    )
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load = LoadSettings(args.seconds, args.warmup, args.connections)
    checks = Checks()
    quotes = measure_fee_quotes(1.0)
    configs: list[ConfigResult] = [
        measure_configuration(database, int(workers), load, checks)
        for database in filter(None, args.databases.split(","))
        for workers in filter(None, args.workers.split(","))
    ]
    for workers in filter(None, args.pgbouncer.split(",")):
        configs.append(
            measure_configuration("postgres", int(workers), load, checks, pgbouncer=True)
        )
    for extra in filter(None, args.nodelay.split(",")):
        database, workers = extra.split(":")
        configs.append(measure_configuration(database, int(workers), load, checks, nodelay=True))
    latency = None if args.no_latency else measure_gateway_latency(load, checks)
    storm = measure_webhook_storm(args.storm_events, checks) if args.storm_events else None
    if storm is not None and not args.no_queue_storm:
        storm.queued = measure_queue_storm(args.storm_events, checks)
    if storm is not None and args.storm_latency_events:
        storm.under_latency = measure_storm_under_latency(args.storm_latency_events, checks)
        if not args.no_queue_storm and args.storm_queue_latency_events:
            storm.under_latency.queued = measure_queue_storm_under_latency(
                args.storm_queue_latency_events, checks
            )
    growth = None if args.no_growth else measure_growth(load, args.history, checks)
    command = shlex.join(["python", "-m", "bench.run", *sys.argv[1:]])
    profiles: dict[str, dict[str, Any]] = {}
    if not args.no_profile:
        py_spy = ensure_py_spy()
        if py_spy is not None:
            # Only the profiles that explain a miss: judged once without them (on checks
            # of its own, quiet, so that nothing is counted or logged twice), then profiled.
            draft = Report(
                started_at,
                load,
                command,
                configs,
                latency,
                storm,
                growth,
                quotes,
                {},
                Checks(quiet=True),
            )
            draft.evaluate()
            profiles = profile_bookpay(py_spy, load, needed_profiles(draft))
    report = Report(
        started_at, load, command, configs, latency, storm, growth, quotes, profiles, checks
    )
    report.invoked_by = args.invoked_by
    report.runtime_seconds = time.perf_counter() - started
    report.evaluate()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report.markdown())
    for name, value, ok in report.targets:
        log(f"{'met   ' if ok else 'MISSED'} {name}: {value}")
    log(f"wrote {args.output} in {report.runtime_seconds / 60:.1f} minutes")
    finish(checks)


def finish(checks: Checks) -> None:
    """The run's end: exits with status 1, saying why, when a correctness check failed or a
    target could not be judged; returns when the run passes."""
    failed = checks.exit_message()
    if failed is not None:
        log(failed)
        sys.exit(1)


if __name__ == "__main__":
    main()
