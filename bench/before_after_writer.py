"""docs/benchmarks-before-after.md: the side-by-side table of `python -m bench.before_after`
with the conditions it was measured in (machine, load, versions, commits, command)."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.before_after_report import Samples, Step, order_line, table
from bench.before_after_trees import PACKAGES, Answers, Outcome, Tree, versions
from bench.checks import Checks
from bench.common import ROOT, connect_postgres
from bench.load import LoadSettings
from bench.report_sections import _machine


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
    answers: dict[str, Answers] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)


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


def write_report(
    path: Path, run: Run, samples: Samples, figures: list[str], checks: Checks, seeded: int
) -> str:
    """The report as Markdown, written to `path` and returned."""
    base, head = run.trees["base"], run.trees["head"]
    found = {name: versions(tree) for name, tree in run.trees.items()}
    out = [
        "# Before and after issue 18: the same figures, the same run",
        "",
        f"Written by `{run.command}` on {run.started_at:%Y-%m-%d %H:%M} UTC, "
        f"{run.seconds / 60:.1f} min in all.",
        "",
        f"- Base: `{base.commit}` ({_subject(base.commit)})",
        f"- Head: `{head.commit}` ({_subject(head.commit)})",
        f"- Machine: {_machine()}; PostgreSQL {_postgres_version()}",
        f"- `uptime` before: {run.uptime_before}; after: {run.uptime_after}",
        "- Versions (base / head): "
        + ", ".join(
            f"{name} {found['base'][name]} / {found['head'][name]}"
            for name in ("Python", *PACKAGES)
        ),
        "- Servers: each tree's own `bookpay serve --workers 1` from its own tree and venv, "
        "on its own fresh PostgreSQL database migrated by its own `bookpay migrate`; "
        "`BOOKPAY_GATEWAY=fake` (no injected latency), limiters and sweeps off "
        "(bench/servers.py `server_env`, the same environment for both). Both stay up all "
        "along; the one not under load is idle.",
        f"- Load: this tree's bench/loadgen.py, {run.load.connections} connections, "
        f"{run.load.warmup:g} s warm-up + {run.load.seconds:g} s measured per load, in this "
        f"order: {order_line(run.steps)}. Each cell: the median over the rounds, the lowest "
        "and highest in brackets; head/base compares the medians (req/s above 1 is faster, "
        "p50 and p99 below 1 are faster).",
        "",
        *table(samples, figures, ("base", "head")),
        "",
    ]
    if "webhooks" in figures:
        out += [
            f"Webhooks: {seeded:,} pending bookings per tree, written by each tree's own "
            "bench/seed.py into its own schema (head's also writes the fake Stripe's paid "
            "sessions), then `ANALYZE`; each round sends events not sent before, 20 % of "
            "requests duplicates. Not the same work: head fetches every completed session "
            "from the gateway before applying it (bdc8b32, a correctness change made during "
            "the restructuring), the base only when the event contradicted its booking; "
            "with the fake gateway that is one more database read per new event.",
            "",
        ]
    out += ["## Checks", ""]
    out += [f"- {'held' if ok else '**FAILED**'}: {what}" for what, ok in checks.results]
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
