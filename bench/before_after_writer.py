"""docs/benchmarks-before-after.md: the side-by-side table of `python -m bench.before_after`
with the conditions it was measured in (machine, load, versions, commits, command)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.before_after_report import Samples, Step, order_line, table
from bench.before_after_trees import PACKAGES, WITHOUT, Answers, Outcome, Tree
from bench.checks import Checks
from bench.common import ROOT, connect_postgres
from bench.load import LoadSettings
from bench.report_header import _machine


@dataclass
class Run:
    started_at: datetime
    command: str
    load: LoadSettings
    steps: list[Step]
    uptime_before: str
    uptime_after: str = ""
    seconds: float = 0.0
    trees: dict[str, Tree] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    answers: dict[str, Answers] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)


def _subject(commit: str) -> str:
    done = subprocess.run(  # noqa: S603 - a fixed git command
        ["git", "log", "-1", "--format=%s", commit.split()[0]],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def _postgres_version() -> str:
    async def read() -> str:
        connection = await connect_postgres()
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    return asyncio.run(read())


def _busy_warning(uptime: str) -> str:
    """A warning when other work already loaded the machine (1-minute load average above
    half its cores): the figures are then noisy."""
    one_minute = float(uptime.removeprefix("load average ").split(",")[0])
    cores = os.cpu_count() or 1
    if one_minute <= cores / 2:
        return ""
    return (
        f". **Noisy**: the machine was busy before the run ({one_minute:g} on {cores} "
        "cores); measure again on an idle machine before drawing conclusions"
    )


def _without_paragraph(without: Tree) -> str:
    """What head-without takes away, and why it is measured."""
    return (
        f"**{WITHOUT}** is head without the later features: the same tree, venv and "
        f"settings, served by `python -m {without.launcher}`, which for measurement only "
        "(nothing in the product changes) takes away the two features above that make "
        "every webhook do more work: a checkout-session event's session is fetched from the "
        "gateway only when the event contradicts its booking, as at the base (issue 12, "
        "7697043, fetches it for matching events too), and a confirmation writes no "
        "`booking.confirmed` event to the outbox and so reads no ledger to render one "
        "(events out, e5ed235). Issue 18's Done-when compares its own change, the "
        "restructuring; these two are other issues' deliberate work, so "
        f"{WITHOUT}/base is the closer reading of issue 18 alone, head/base the product as "
        "it is. It also serves on the base's event loop and HTTP parser (asyncio's own and "
        "h11), not head's uvloop and httptools, so the server stack is held equal. "
        "The rest stays: head-without still runs the events-out relay once a second "
        "(finding nothing to send), and availability and checkout (an opened checkout "
        "writes no event out) run head's code as it is."
    )


def write_report(
    path: Path, run: Run, samples: Samples, figures: list[str], checks: Checks, seeded: int
) -> str:
    """The report as Markdown, written to `path` and returned."""
    base, head = run.trees["base"], run.trees["head"]
    names = tuple(run.trees)
    without = run.trees.get(WITHOUT)
    found = run.versions
    out = [
        "# Before and after issue 18: the same figures, the same run",
        "",
        f"Written by `{run.command}` on {run.started_at:%Y-%m-%d %H:%M} UTC, "
        f"{run.seconds / 60:.1f} min in all.",
        "",
        f"- Base: `{base.commit}` ({_subject(base.commit)})",
        f"- Head: `{head.commit}` ({_subject(head.commit)})",
        *(
            [
                f"- {WITHOUT}: head's tree and venv again, served by "
                f"`python -m {without.launcher} serve …` (head without the later features, "
                "below)"
            ]
            if without is not None
            else []
        ),
        f"- Machine: {_machine()}; PostgreSQL {_postgres_version()}",
        f"- `uptime` before: {run.uptime_before}; after: {run.uptime_after}"
        + _busy_warning(run.uptime_before),
        "- Versions (base / head): "
        + ", ".join(
            f"{name} {found['base'][name]} / {found['head'][name]}"
            for name in ("Python", *PACKAGES)
        ),
        "- Servers: each tree's own `bookpay serve --workers 1` from its own tree and venv, "
        "on its own fresh PostgreSQL database migrated by its own `bookpay migrate`; "
        "`BOOKPAY_GATEWAY=fake` (no injected latency), limiters and sweeps off "
        "(bench/servers.py `server_env`, the same environment for all). All stay up all "
        "along; those not under load are idle."
        + (
            " Set for all besides: " + ", ".join(f"`{k}={v}`" for k, v in run.settings.items())
            if run.settings
            else ""
        ),
        f"- Load: this tree's bench/loadgen.py, {run.load.connections} connections, "
        f"{run.load.warmup:g} s warm-up + {run.load.seconds:g} s measured per load, in this "
        f"order: {order_line(run.steps)}. Each cell: the median over the rounds, the lowest "
        "and highest in brackets; "
        + ", ".join(f"{name}/base" for name in names[1:])
        + " compare the medians (req/s above 1 is faster, p50 and p99 below 1 are faster).",
        "",
        *table(samples, figures, names),
        "",
    ]
    if "webhooks" in figures:
        out += [
            f"Webhooks: {seeded:,} pending bookings per tree, written by each tree's own "
            "bench/seed.py into its own schema (head's also writes the fake Stripe's paid "
            "sessions it checks events against), then `ANALYZE`; each round sends events "
            "not sent before, 20 % of requests duplicates.",
            "",
        ]
    out += [
        "Not only issue 18 lies between the trees: work merged in the same weeks changed what "
        "a request does, on purpose. Among it: every completion is checked against the "
        "session fetched from the gateway, matching ones too (7697043, issue 12; the base "
        "fetched it only when the event contradicted its booking), and a confirmed booking "
        "writes its `booking.confirmed` event to the outbox with the booking's ledger "
        "(e5ed235, events out): each is a few more statements per webhook, and head's "
        "server runs the events-out relay once a second (its default, as in `make bench`); "
        "a checkout no longer holds a database connection while the gateway is asked "
        "(48c4eb3, issue 19), "
        "and the fake Stripe has a pool of its own (cf94df5); availability answers with an "
        "ETag and Cache-Control (21c80a0; the load sends no If-None-Match, so every answer "
        "is a full 200); and head's `bookpay serve` runs on uvloop and httptools, which it "
        "declares (this tree's pyproject.toml; the base has neither, and runs on asyncio's own "
        "loop and h11: the versions above). A ratio of head to base is therefore the "
        "restructuring and these together.",
        "",
    ]
    if without is not None:
        out += [_without_paragraph(without), ""]
    out += ["## Checks", ""]
    out += [f"- {'held' if ok else '**FAILED**'}: {what}" for what, ok in checks.results]
    if run.first_errors:
        out += ["", "The first error of each load that had one, and what the servers logged:", ""]
        out += [f"- {error}" for error in run.first_errors]
    out += ["", "## The trees' answers before the loads", ""]
    for name, answers in run.answers.items():
        out.append(
            f"- {name}: availability {answers.availability_status}, {answers.slots_shown} "
            f"slots shown (fields {', '.join(answers.slot_fields)}); checkout "
            f"{answers.checkout_status} (fields {', '.join(answers.checkout_fields)})"
        )
    for name, result in run.outcomes.items():
        out.append(f"- {name} after the loads: {result}")
    text = "\n".join(out) + "\n"
    path.write_text(text)
    return text
