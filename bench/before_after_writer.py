"""docs/benchmarks-before-after.md: the side-by-side tables of `python -m bench.before_after`,
one per configuration, with the conditions they were measured in (machine, load, versions,
commits, command)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.before_after_report import Configuration, Samples, Step, order_line, table
from bench.before_after_trees import PACKAGES, WITHOUT, Answers, Outcome, Tree
from bench.checks import Checks
from bench.common import ROOT, connect_postgres
from bench.load import LoadSettings
from bench.report_header import _machine


@dataclass
class Part:
    """One configuration's rounds, and what its sides answered and left behind."""

    configuration: Configuration
    steps: list[Step]
    samples: Samples
    answers: dict[str, Answers] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Run:
    started_at: datetime
    command: str
    load: LoadSettings
    uptime_before: str
    uptime_after: str = ""
    seconds: float = 0.0
    parts: list[Part] = field(default_factory=list)
    trees: dict[str, Tree] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
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


# What, besides issue 18, changed what a request does between the base and head.
_BETWEEN = (
    "Not only issue 18 lies between the trees: work merged in the same weeks changed what "
    "a request does, on purpose. Among it: every completion is checked against the "
    "session fetched from the gateway, matching ones too (7697043, issue 12; the base "
    "fetched it only when the event contradicted its booking), and a confirmed booking "
    "writes its `booking.confirmed` event to the outbox with the booking's ledger "
    "(e5ed235, events out): each is a few more statements per webhook, and head's "
    "server runs the events-out relay once a second (its default, as in `make bench`). "
    "On PostgreSQL every transaction of head's server runs as `bookpay_app` under "
    "row-level security in a tenant's scope (12eb9b5, issue 14; the base's ran as the "
    "login), the scope sent with the BEGIN (16bc802). Issue 19 cut round trips: "
    "connections are pinged only after sitting idle 5 s (fad9f3e; the base pinged before "
    "every unit of work), the count of a customer's unpaid bookings that every checkout "
    "makes has an index (4a67069, migration 0020); and the "
    "fake Stripe has a pool of its own (cf94df5; at the base its transactions drew on the "
    "app's pool, during the gateway call) and stores a session in one transaction "
    "instead of two (4ec234a), and reads a session with its payment intent in one "
    "statement, as Stripe's `expand` answers both in one call (d9a187b). Two cuts to a "
    "webhook's own CPU were made for this comparison: a body without the escape `\\u0000` "
    "is not decoded a second time for the NUL check (7c238cf), and a currency code "
    "already normal is not normalised again (eb3ebe5). Availability answers with an ETag "
    "and Cache-Control "
    "(21c80a0; the load sends no If-None-Match, so every answer is a full 200); and head's "
    "`bookpay serve` runs on uvloop and httptools, which it declares (this tree's "
    "pyproject.toml; the base has neither, and runs on asyncio's own loop and h11: the "
    "versions above); with several workers each of head's has a listening socket of its "
    "own (SO_REUSEPORT, dc6538b, issue 19; the base's workers share one). A ratio of "
    "head to base is therefore the restructuring and these together. One thing did not "
    "change: neither tree holds a database connection across a checkout's gateway call. "
    "48c4eb3 (issue 19) only added the test that says so "
    "(tests/integration/http/test_no_connection_across_gateway.py); the base's checkout "
    "already committed and closed its unit of work before asking the gateway (94bff09 "
    "application/start_checkout.py), and that test as 48c4eb3 wrote it passes on the "
    "base's tree, on SQLite and PostgreSQL."
)


def _without_paragraph(without: Tree) -> str:
    """What head-without holds equal to the base, and what still differs (and which way)."""
    return (
        f"**{WITHOUT}** is head without the later features and cuts of other issues: the "
        f"same tree, venv and settings, served by `python -m {without.launcher}`, which for "
        "measurement only (nothing in the product changes), in the server's process and in "
        "each of its workers, holds these equal to the base. Two features that make every "
        "webhook do more: a checkout-session event's session is fetched from the gateway "
        "only when the event contradicts its booking (issue 12, 7697043, fetches it for "
        "matching events too), and a confirmation writes no `booking.confirmed` event to the "
        "outbox and so reads no ledger to render one (events out, e5ed235). Two cuts of "
        "issue 19 that make requests cheaper: every checkout of a pooled PostgreSQL "
        "connection pings it, as the base's `pool_pre_ping` did (fad9f3e pings only after "
        "5 s idle; the app's engine and the fake Stripe's, whose connections at the base were "
        "the app's; SQLite was never pinged), and a checkout counts the customer's unpaid "
        "bookings with the base's statement on `lower(customer_email)`, which reads every "
        "unpaid booking of the tenant, not head's indexed column (4a67069, 3d11d71; the "
        "index stays in the database, unusable to that statement beyond its tenant and "
        "status; on PostgreSQL the read costs more than the base's, since row-level "
        "security judges its tenant policy on each unpaid booking read (bench/findings.md), "
        f"so the checkout rows' {WITHOUT}/base err against {WITHOUT}). And the server "
        "stack: the base's event loop and HTTP parser (asyncio's "
        "own and h11), not head's uvloop and httptools. Not undone: the fake Stripe's "
        "one-statement read of a session with its payment intent (d9a187b), since the "
        "base's fake read the session alone in one statement (the intent's read came with "
        "issue 12) and, with the fetch only on contradiction, no webhook of the load reads "
        "it; and issue 18's own CPU cuts (the NUL check 7c238cf, the currency fast path "
        "eb3ebe5, prebuilt statements, the heap frozen at start), which are part of what is "
        "measured. Issue 18's Done-when compares its own change, the restructuring; the "
        f"rest is other issues' deliberate work, so {WITHOUT}/base is the closer reading of "
        "issue 18 alone, head/base the product as it is. What still differs from the base "
        "and is not issue 18's, unmeasured apart: on the costlier side, row-level security "
        "on PostgreSQL (every transaction as `bookpay_app` in a tenant's scope, 12eb9b5, "
        "the scope sent with the BEGIN, 16bc802), the read of parked events in the "
        "confirming transaction (issue 12, dd59fc0, b31db58), the events-out relay polling "
        "once a second (finding nothing), the admission line (26b84fc) and the per-request "
        "phase histograms (554cb8c), SQLite's writer turns (a file lock per write "
        "transaction, dc6538b) and the fake Stripe's session stored in one transaction that "
        "reads the account (4ec234a; the base's fake cached the account and stored the "
        "session in one statement, a shortcut issue 18 removed); on the cheaper or "
        "different side, the fake Stripe's pool of its own on PostgreSQL (cf94df5; at the "
        "bench's 16 connections neither its pool nor the app's 20 runs out), browsing's "
        "read-only units (6fc19d3: on SQLite a deferred BEGIN beside the writer instead of "
        "BEGIN IMMEDIATE; on PostgreSQL they keep their transaction under row-level "
        "security), availability's ETag (21c80a0; the load sends no If-None-Match), and "
        "with two workers a listening socket per worker (SO_REUSEPORT, dc6538b). Its "
        "checkout already has the base's shape around the gateway call (one unit of work "
        "that holds the seats and commits, the call with no connection held, one unit that "
        "attaches the session), so there is nothing of 48c4eb3 to take away."
    )


_DATABASES = {"postgres": "a PostgreSQL database", "sqlite": "an SQLite file"}


def _servers_line(run: Run) -> str:
    chosen = ", ".join(
        f"{part.configuration.title} (`bookpay serve --workers {part.configuration.workers}`"
        f" on {_DATABASES[part.configuration.database]})"
        for part in run.parts
    )
    return (
        f"- Servers, in turn: {chosen}. In each configuration every tree is served by its "
        "own `bookpay serve` from its own tree and venv, on its own fresh database migrated "
        "by its own `bookpay migrate`; `BOOKPAY_GATEWAY=fake` (no injected latency), "
        "limiters and sweeps off (bench/servers.py `server_env`, the same environment for "
        "all). A configuration's servers stay up through its rounds (those not under load "
        "are idle) and are stopped, their databases dropped, before the next one starts."
        + (
            " Set for all besides: " + ", ".join(f"`{k}={v}`" for k, v in run.settings.items())
            if run.settings
            else ""
        )
    )


def _part_section(part: Part, figures: list[str], names: tuple[str, ...]) -> list[str]:
    return [
        f"## {part.configuration.title}",
        "",
        f"{order_line(part.steps)}; {part.seconds / 60:.1f} min with its set-up.",
        "",
        *table(part.samples, figures, names),
        "",
    ]


def _checks_section(run: Run, checks: Checks) -> list[str]:
    failed = [what for what, ok in checks.results if not ok]
    out = ["## Checks", ""]
    if failed:
        out += [f"**{len(failed)} of {len(checks.results)} checks FAILED**:", ""]
        out += [f"- **FAILED**: {what}" for what in failed]
    else:
        out += [f"All {len(checks.results)} checks held."]
    if run.first_errors:
        out += ["", "The first error of each load that had one, and what the servers logged:", ""]
        out += [f"- {error}" for error in run.first_errors]
    out += ["", "<details><summary>Every check</summary>", ""]
    out += [f"- {'held' if ok else '**FAILED**'}: {what}" for what, ok in checks.results]
    out += ["", "</details>", ""]
    return out


def write_report(path: Path, run: Run, figures: list[str], checks: Checks, seeded: int) -> str:
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
        _servers_line(run),
        f"- Load: this tree's bench/loadgen.py, {run.load.connections} connections, "
        f"{run.load.warmup:g} s warm-up + {run.load.seconds:g} s measured per load; in "
        "each configuration every figure is loaded on every tree one right after the other, "
        "in an order that changes every round (each section says it). Each cell: the median "
        "over the rounds, the lowest and highest in brackets; "
        + ", ".join(f"{name}/base" for name in names[1:])
        + " compare the medians (req/s above 1 is faster, p50 and p99 below 1 are faster).",
        "",
    ]
    for part in run.parts:
        out += _part_section(part, figures, names)
    if "webhooks" in figures:
        out += [
            f"Webhooks: {seeded:,} pending bookings per tree and configuration, written by "
            "each tree's own bench/seed.py into its own schema (head's also writes the fake "
            "Stripe's paid sessions it checks events against), then `ANALYZE`; each round "
            "sends events not sent before, 20 % of requests duplicates.",
            "",
        ]
    out += ["## What else lies between the trees", "", _BETWEEN, ""]
    if without is not None:
        out += [_without_paragraph(without), ""]
    out += _checks_section(run, checks)
    out += ["## The trees' answers before and after the loads", ""]
    for part in run.parts:
        title = part.configuration.title
        for name, answers in part.answers.items():
            out.append(
                f"- {title}, {name}: availability {answers.availability_status}, "
                f"{answers.slots_shown} slots shown (fields {', '.join(answers.slot_fields)}); "
                f"checkout {answers.checkout_status} "
                f"(fields {', '.join(answers.checkout_fields)})"
            )
        for name, result in part.outcomes.items():
            out.append(f"- {title}, {name} after the loads: {result}")
    text = "\n".join(out) + "\n"
    path.write_text(text)
    return text
