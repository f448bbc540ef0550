"""Before and after, in the same run: an older commit (the base, by default the last one
before issue 18's restructuring), this tree (head), and this tree without two later features
of other issues (head-without), side by side under the same load.

    .venv/bin/python -m bench.before_after [--base 94bff09] [--rounds 6] [--seconds 4]
        [--warmup 1] [--connections 16] [--figures availability,checkout,webhooks]
        [--configurations postgres-1,sqlite-1,postgres-2]
        [--output docs/benchmarks-before-after.md] [--base-tree PATH] [--no-head-without]

1. The base is checked out into a temporary git worktree (`git worktree add --detach`) with
   a venv of its own, installed as its `make install` does; both are removed at the end.
2. Configurations, one after the other: PostgreSQL with 1 worker, SQLite with 1 worker,
   PostgreSQL with 2 workers (--configurations picks some). In each, every side gets a
   fresh database migrated by its own `bookpay migrate` (a PostgreSQL database, or an
   SQLite file of its own), and its own `bookpay serve --workers N` (fake gateway,
   limiters and sweeps off), stopped and dropped before the next configuration; head-without is
   this tree and venv served by `python -m bench.as_before serve …`, which fetches a
   checkout-session event's session only when the event contradicts its booking (the
   base's rule, before issue 12's 7697043), writes no event out (before e5ed235), pings
   every pooled PostgreSQL connection at checkout (the base's pool_pre_ping, before
   fad9f3e) and counts a customer's unpaid bookings with the base's unindexed statement
   (before 4a67069), on the base's asyncio loop and h11, for measurement only
   (bench/as_before.py). A tenant is set up over HTTP as `make bench`
   does, and each tree's own bench seed writes the pending bookings the webhook load
   completes.
3. Rounds, within each configuration: each figure is loaded on every side, one right after
   the other, the same seconds each, by this tree's bench.loadgen, in an order that changes
   every round (before_after_report.orders); the configuration's servers stay up all along.
4. Checks, the same for all: a probe before the loads (availability 200 with the tenant's
   slots, checkout 201 with a checkout_url), no error in any load, no pool timeout, every
   webhook booking sent confirmed exactly once, every slot's counters equal to its bookings;
   for head-without also that its patch was in place in every process (its log says so once
   per patched process) and wrote no event out.
5. One table per configuration (median and range over the rounds, head/base and
   head-without/base) goes to stdout and --output; the run exits 1 when a check failed.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.as_before import BANNER, banners
from bench.before_after_report import (
    CONFIGURATIONS,
    FIGURES,
    Configuration,
    Sample,
    Samples,
    Step,
    configurations,
    order_line,
    schedule,
)
from bench.before_after_trees import (
    Answers,
    Outcome,
    Tree,
    base_tree,
    events_out_written,
    head_tree,
    head_without_tree,
    outcome,
    probe,
    seed_webhook_bookings,
    serving,
    tree_database,
    versions,
)
from bench.before_after_writer import Part, Run, write_report
from bench.checks import Checks
from bench.common import DUPLICATE_SHARE, ROOT, WEBHOOK_SECRET, log
from bench.load import LoadSettings, run_load
from bench.seed import BenchTenant
from bench.servers import Server
from bench.shop import availability_plan, checkout_plan, set_up_tenant, webhook_plan

BASE = "94bff09"
# What is not load, roughly (the log's estimate only): the base's venv, and in each
# configuration the databases, servers and seeds and the loads' own start-up.
VENV_SECONDS = 25
CONFIGURATION_SET_UP_SECONDS = 25
LOAD_START_SECONDS = 0.25
TOO_MANY_CLIENTS = "too many clients already"


@dataclass
class Side:
    """One tree while it is measured."""

    configuration: Configuration
    tree: Tree
    url: str
    server: Server
    tenant: BenchTenant
    answers: Answers
    pending: list[dict[str, Any]]
    sent: list[str] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.before_after", description=__doc__)
    parser.add_argument("--base", default=BASE, help="the commit to compare with")
    parser.add_argument(
        "--rounds",
        type=int,
        default=6,
        help="loads per figure and side (6: every order of three sides once)",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per load")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per load")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--figures", default=",".join(FIGURES))
    parser.add_argument(
        "--configurations",
        default=",".join(CONFIGURATIONS),
        help=f"which, in this order (known: {', '.join(CONFIGURATIONS)})",
    )
    parser.add_argument(
        "--webhook-bookings",
        type=int,
        default=None,
        help="pending bookings seeded per tree (default: 3,000 per round)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks-before-after.md")
    parser.add_argument(
        "--base-tree",
        type=Path,
        default=None,
        help="a worktree of --base with its .venv made before: used and kept (for trials)",
    )
    parser.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="BOOKPAY_NAME=VALUE",
        help="a setting for both servers over the bench's (to tell causes apart, e.g. "
        "BOOKPAY_OUTBOUND_POLL_SECONDS=0); a tree that does not know it ignores it",
    )
    parser.add_argument(
        "--no-head-without",
        action="store_true",
        help="leave out head-without (head served by bench.as_before): base and head only",
    )
    parser.add_argument("--invoked-by", default=None, help="what ran this, for the report")
    return parser.parse_args()


def _uptime() -> str:
    """`uptime`'s load averages (1, 5, 15 minutes) and the number of cores."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return f"load average {one}, {five}, {fifteen}"


def _set_up(
    configuration: Configuration,
    tree: Tree,
    stack: ExitStack,
    webhook_bookings: int,
    settings: dict[str, str],
) -> Side:
    log(
        f"{configuration.title}: {tree.name} {tree.commit}: database migrated by its own "
        f"bookpay, bookpay serve --workers {configuration.workers}"
    )
    url = stack.enter_context(tree_database(tree, configuration.database))
    server = stack.enter_context(serving(tree, url, settings, configuration.workers))
    tenant = set_up_tenant(server, "bench-studio")
    answers = probe(server, tenant)
    pending: list[dict[str, Any]] = []
    if webhook_bookings:
        log(f"{tree.name}: {webhook_bookings:,} pending bookings by its own bench seed")
        pending = seed_webhook_bookings(tree, url, tenant, webhook_bookings)
    return Side(configuration, tree, url, server, tenant, answers, pending)


def _plan(figure: str, side: Side, label: str) -> dict[str, Any]:
    if figure == "availability":
        return availability_plan(side.server, side.tenant, label)
    if figure == "checkout":
        return checkout_plan(side.server, side.tenant, label)
    if figure == "webhooks":
        # Each round sends events not sent before, so every round has 20 % duplicates.
        left = side.pending[len(side.sent) :]
        return webhook_plan(side.server, left, label, WEBHOOK_SECRET, DUPLICATE_SHARE)
    raise ValueError(f"unknown figure {figure!r}")


def _check(checks: Checks, side: Side, webhooks: bool, notes: list[str]) -> Outcome:
    name = f"{side.configuration.title}: {side.tree.name} {side.tree.commit}"
    failed = len(checks.failures)
    checks.expect(
        side.answers.as_expected, f"{name}: the probe answered as expected {side.answers}"
    )
    checks.no_pool_timeout(side.server, side.figures, name)
    found = outcome(side.url, side.tenant.tenant_id, set(side.sent))
    if webhooks:
        checks.expect(found.webhooks_exactly_once, f"{name}: webhooks exactly once {found}")
    checks.expect(found.slots_off == 0, f"{name}: every slot's counters match its bookings")
    if side.tree.launcher is not None:
        expected = banners(side.configuration.workers)
        logged = side.server.log_text().count(BANNER)
        checks.expect(
            logged >= expected,
            f"{name}: served patched by {side.tree.launcher} (its log says so for every "
            f"process: {logged} of {expected})",
        )
        written = events_out_written(side.url, side.tenant.tenant_id)
        checks.expect(written == 0, f"{name}: no event written to the outbox ({written})")
    errors = any(f["errors"] or f["warmup_errors"] for f in side.figures)
    if errors or len(checks.failures) > failed:
        # The server's log goes with the server; kept where a failure can be read.
        kept = (
            Path(tempfile.gettempdir())
            / f"bookpay_before_after_{side.configuration.name}_{side.tree.name}.log"
        )
        text = side.server.log_text()
        kept.write_text(text)
        log(f"{name}: a check failed; its server's log is kept in {kept}")
        full = text.count(TOO_MANY_CLIENTS)
        if full:
            notes.append(
                f"{name}: its server logged '{TOO_MANY_CLIENTS}' {full} times: the PostgreSQL "
                "server's max_connections was reached (other work on the same server?)"
            )
    return found


def _measure(
    configuration: Configuration,
    trees: list[Tree],
    steps: list[Step],
    load: LoadSettings,
    checks: Checks,
    run: Run,
    webhook_bookings: int,
    figures: list[str],
) -> Part:
    """One configuration: every side set up, the rounds loaded, the checks made, and every
    server stopped and its database dropped before the next configuration."""
    started = time.perf_counter()
    samples = Samples()
    with ExitStack() as stack:
        sides = {
            tree.name: _set_up(configuration, tree, stack, webhook_bookings, run.settings)
            for tree in trees
        }
        for step in steps:
            side = sides[step.tree]
            label = f"{configuration.title}, round {step.round}: {step.figure} on {step.tree}"
            measured = run_load(load, _plan(step.figure, side, label), side.server)
            samples.add(step, Sample.of(measured["summary"]))
            side.figures.append(measured["summary"])
            if not checks.no_errors(measured, label):
                run.first_errors.append(f"{label}: {measured['first_error']}")
            if step.figure == "webhooks":
                side.sent.extend(measured["sent_booking_ids"])
                checks.expect(not measured["exhausted"], f"{label}: the seeded events outlast it")
        part = Part(configuration, steps, samples)
        for side in sides.values():
            part.outcomes[side.tree.name] = _check(
                checks, side, "webhooks" in figures, run.first_errors
            )
            part.answers[side.tree.name] = side.answers
    part.seconds = time.perf_counter() - started
    log(f"{configuration.title}: {part.seconds / 60:.1f} min")
    return part


def main() -> None:
    args = _arguments()
    figures = [f for f in args.figures.split(",") if f]
    unknown = set(figures) - set(FIGURES)
    if unknown:
        sys.exit(f"unknown figures: {', '.join(sorted(unknown))} (known: {', '.join(FIGURES)})")
    try:
        chosen = configurations(args.configurations)
    except ValueError as error:
        sys.exit(str(error))
    webhook_bookings = 0
    if "webhooks" in figures:
        webhook_bookings = args.webhook_bookings or 3_000 * args.rounds
    settings = dict(setting.split("=", 1) for setting in args.server_setting)
    if any(not name.startswith("BOOKPAY_") for name in settings):
        sys.exit("--server-setting takes BOOKPAY_NAME=VALUE")
    load = LoadSettings(args.seconds, args.warmup, args.connections)
    trees = [head_tree()] if args.no_head_without else [head_tree(), head_without_tree()]
    names = ("base", *(tree.name for tree in trees))
    steps = schedule(args.rounds, figures, names)
    per_load = args.seconds + args.warmup + LOAD_START_SECONDS
    expected = VENV_SECONDS + len(chosen) * (CONFIGURATION_SET_UP_SECONDS + len(steps) * per_load)
    log(
        f"base {args.base} against {' and '.join(names[1:])} in "
        f"{', '.join(c.title for c in chosen)}: {len(steps)} loads each of "
        f"{args.warmup:g} + {args.seconds:g} s, about {expected / 60:.0f} min in all with the "
        f"base's venv and each configuration's databases, servers and seeds; "
        f"{order_line(steps)}"
    )
    run = Run(
        started_at=datetime.now(UTC),
        command=args.invoked_by
        or shlex.join(["python", "-m", "bench.before_after", *sys.argv[1:]]),
        load=load,
        uptime_before=_uptime(),
        settings=settings,
    )
    started = time.perf_counter()
    checks = Checks()
    with base_tree(args.base, args.base_tree) as base:
        sides = (base, *trees)
        for configuration in chosen:
            run.parts.append(
                _measure(
                    configuration, list(sides), steps, load, checks, run, webhook_bookings, figures
                )
            )
        run.trees = {tree.name: tree for tree in sides}
        run.versions = {tree.name: versions(tree) for tree in sides}
    run.uptime_after = _uptime()
    run.seconds = time.perf_counter() - started
    text = write_report(args.output, run, figures, checks, webhook_bookings)
    print(text)
    log(f"wrote {args.output} in {run.seconds / 60:.1f} min")
    if checks.failures:
        log(f"{len(checks.failures)} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
