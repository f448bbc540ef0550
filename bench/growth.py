"""Growth: the same loads on a tenant with 1 thousand and with 1 million bookings, and with
a few thousand and 1 million ledger entries (PostgreSQL, 1 worker each).

Two databases and two servers run side by side, and the loads alternate between them in
short rounds (small, large, small, large, …), so that the shared machine's drift from
minute to minute falls on both sizes alike; each figure is the median over the rounds.
The statement's query plan on the large database is kept for the report (EXPLAIN ANALYZE).
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql import orm
from adapters.sql.ledger import SqlAlchemyLedgerRepository
from adapters.sql.row_scope import APP_ROLE, TENANT_SETTING
from adapters.sql.statements import Statements
from bench.checks import Checks, audit_seats, check_webhooks_applied
from bench.common import (
    WEBHOOK_SECRET,
    free_port,
    log,
    throwaway_database,
    with_engine,
)
from bench.load import LoadSettings, run_load
from bench.seed import BenchTenant, count_bookings, seed_history, seed_ledger, seed_pending_bookings
from bench.servers import Server, bookpay_command, server_env, start_server, stop_server
from bench.shop import availability_plan, checkout_plan, set_up_tenant, statement_plan, webhook_plan

# Two rounds per size, medians over them (three cost ~25 s more of the 10-minute run).
GROWTH_ROUNDS = 2
SMALL_BOOKINGS = 1_000
SCENARIOS = ("availability", "checkout", "webhooks", "statement")
# Pending bookings per database for the webhook rounds (a new slice each round).
GROWTH_WEBHOOKS = 6_000


@dataclass
class GrowthResult:
    small: int = 0
    large: int = 0
    small_entries: int = 0
    large_entries: int = 0
    seed_seconds: float = 0.0
    rounds: int = 0
    statement_window: str = ""
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    explain: str = ""
    # Per size ("small", "large"): the ledger entries inside the statement's window, and its
    # query's execution time one at a time (EXPLAIN ANALYZE, the median of
    # STATEMENT_QUERY_RUNS, as the app's role in the tenant's scope).
    statement_entries: dict[str, int] = field(default_factory=dict)
    statement_query_ms: dict[str, float] = field(default_factory=dict)


def _median_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over several runs; errors are added up. With the runs'
    readings of the machine: the worker's CPU per request, PostgreSQL's cores, the idle
    cores, and the server's own count of each phase (means and p99 bounds, medians)."""
    found: dict[str, Any] = {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "p99_each": [r["p99_ms"] for r in runs],
    }
    if all("server_cpu_seconds" in r and "machine" in r for r in runs):
        found["worker_ms"] = statistics.median(
            1000 * float(r["server_cpu_seconds"]) / max(int(r.get("answered") or r["requests"]), 1)
            for r in runs
        )
        found["postgres_cores"] = statistics.median(float(r["postgres_cpu_share"]) for r in runs)
        found["idle"] = statistics.median(float(r["machine"]["idle"]) for r in runs)
        found["busy"] = statistics.median(float(r["machine"]["busy"]) for r in runs)
        found["connections"] = runs[0].get("connections")
    counted = [r["phases"] for r in runs if r.get("phases")]
    if counted:
        parts = set.intersection(*(set(p) - {"route", "requests"} for p in counted))
        found["phases"] = {
            part: {
                stat: statistics.median(float(p[part][stat]) for p in counted)
                for stat in ("mean_ms", "p99_ms")
            }
            for part in parts
        }
    return found


class _CaptureQuery:
    """Stands in for a connection: keeps the statement the repository would execute."""

    def __init__(self) -> None:
        self.query: Any = None

    async def execute(self, query: Any, *args: Any) -> list[Any]:
        self.query = query
        return []


async def as_the_app(connection: AsyncConnection, scope: str) -> None:
    """Make the rest of `connection`'s transaction run as the server's does: as the
    application's role under row-level security, in `scope` (a tenant's id for a tenant's
    request, PLATFORM for a public one; adapters/sql/row_scope.py). The policies change
    the plans, so EXPLAIN runs so too."""
    await connection.execute(
        text(
            f"SELECT set_config('role', :role, true), set_config('{TENANT_SETTING}', :tenant, true)"
        ),
        {"role": APP_ROLE, "tenant": scope},
    )


async def explain_as_the_app(engine: AsyncEngine, scope: str, query: Any) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a SQLAlchemy `query` as the server runs it in `scope`."""
    compiled = query.compile(dialect=engine.dialect)
    values = tuple(compiled.params[name] for name in compiled.positiontup or ())
    async with engine.begin() as connection:
        await as_the_app(connection, scope)
        result = await connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, values
        )
        return "\n".join(str(row[0]) for row in result)


async def explain_statement(
    engine: AsyncEngine, tenant_id: str, since: datetime, until: datetime
) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the query the ledger repository runs for a statement,
    as the application's role in the tenant's scope."""
    capture = _CaptureQuery()
    repository = SqlAlchemyLedgerRepository(capture, Statements("postgresql"))  # type: ignore[arg-type]
    await repository.statement(tenant_id, since=since, until=until)
    return await explain_as_the_app(engine, tenant_id, capture.query)


# The statement's query timed one at a time this many times per size (the median kept): the
# first reads its pages from the operating system's cache, the others from PostgreSQL's.
STATEMENT_QUERY_RUNS = 5
_EXECUTION_TIME = re.compile(r"Execution Time: ([0-9.]+) ms")


def execution_ms(plan: str) -> float:
    """EXPLAIN ANALYZE's "Execution Time" in ms (ValueError when the plan has none)."""
    found = _EXECUTION_TIME.search(plan)
    if found is None:
        raise ValueError("no Execution Time in the plan")
    return float(found.group(1))


async def statement_query(
    engine: AsyncEngine, tenant_id: str, since: datetime, until: datetime
) -> tuple[int, float, str]:
    """The ledger entries in the statement's window, its query's median execution time one
    at a time (ms, over STATEMENT_QUERY_RUNS), and the last run's plan."""
    c = orm.ledger_entries.c
    async with engine.connect() as connection:
        entries = await connection.scalar(
            select(func.count()).where(
                c.tenant_id == tenant_id, c.created_at >= since, c.created_at < until
            )
        )
    plans = [
        await explain_statement(engine, tenant_id, since, until)
        for _ in range(STATEMENT_QUERY_RUNS)
    ]
    return int(entries or 0), statistics.median(map(execution_ms, plans)), plans[-1]


def _seed(url: str, tenant: BenchTenant, bookings: int, anchor: datetime) -> int:
    with_engine(
        url, partial(seed_history, tenant=tenant, first=0, last=bookings - 1, anchor=anchor)
    )
    return with_engine(url, partial(seed_ledger, tenant=tenant, entries=bookings))


def measure_growth(load: LoadSettings, history: int, checks: Checks) -> GrowthResult:
    """Availability, checkout, webhooks and the monthly statement at both sizes."""
    result = GrowthResult(rounds=GROWTH_ROUNDS)
    log(f"growth: {SMALL_BOOKINGS:,} vs {history:,} bookings and ledger entries, postgres")
    short = LoadSettings(max(load.seconds / 2, 2.0), min(load.warmup, 1.0), load.connections)
    anchor = datetime.now(UTC)
    # The last 30 days: the statement a tenant asks for most (on the large database about
    # 26,000 of its entries, the newest; on the small one all of them).
    until, since = anchor, anchor - timedelta(days=30)
    result.statement_window = f"{since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC"
    with throwaway_database("postgres") as small_url, throwaway_database("postgres") as large_url:
        urls = {"small": small_url, "large": large_url}
        servers: dict[str, tuple[Server, BenchTenant, list[dict[str, Any]]]] = {}
        try:
            for size, url in urls.items():
                port = free_port()
                server = start_server(
                    "bookpay", bookpay_command(port, 1), server_env(url, port), port
                )
                tenant = set_up_tenant(server, "growth-studio")
                pending = with_engine(
                    url, partial(seed_pending_bookings, tenant=tenant, count=GROWTH_WEBHOOKS)
                )
                servers[size] = (server, tenant, pending)
                started = time.perf_counter()
                entries = _seed(url, tenant, SMALL_BOOKINGS if size == "small" else history, anchor)
                if size == "large":
                    result.large_entries = entries
                    result.seed_seconds = time.perf_counter() - started
                    log(f"  seeded {history:,} bookings, {entries:,} entries")
                else:
                    result.small_entries = entries
            # The history, without the pending bookings seeded for the webhook rounds.
            result.small = (
                with_engine(small_url, lambda e: count_bookings(e, servers["small"][1].tenant_id))
                - GROWTH_WEBHOOKS
            )
            result.large = (
                with_engine(large_url, lambda e: count_bookings(e, servers["large"][1].tenant_id))
                - GROWTH_WEBHOOKS
            )
            for size, url in urls.items():
                tenant_id = servers[size][1].tenant_id
                entries, query_ms, plan = with_engine(
                    url, partial(statement_query, tenant_id=tenant_id, since=since, until=until)
                )
                result.statement_entries[size], result.statement_query_ms[size] = entries, query_ms
                if size == "large":
                    result.explain = plan
            _rounds(result, servers, short, since, until, checks)
        finally:
            for server, _, _ in servers.values():
                stop_server(server)
        check_growth_databases(result, urls, servers, checks)
    return result


def check_growth_databases(
    result: GrowthResult,
    urls: dict[str, str],
    servers: dict[str, tuple[Server, BenchTenant, list[dict[str, Any]]]],
    checks: Checks,
) -> None:
    """After the rounds, in each database: the webhooks sent applied exactly once, and
    every slot's seats counted as its bookings hold and own them, none over capacity."""
    for size, url in urls.items():
        _, tenant, pending = servers[size]
        sent = [b["booking_id"] for b in pending[: result.figures[f"webhooks_{size}"]["sent"]]]
        check = with_engine(
            url,
            partial(check_webhooks_applied, tenant=tenant, sent_ids=sent, seeded=len(pending)),
        )
        checks.expect(check.exactly_once, f"growth webhooks exactly once ({size}): {check}")
        checks.seats_match_bookings(with_engine(url, audit_seats), f"growth ({size})")


def _rounds(
    result: GrowthResult,
    servers: dict[str, tuple[Server, BenchTenant, list[dict[str, Any]]]],
    short: LoadSettings,
    since: datetime,
    until: datetime,
    checks: Checks,
) -> None:
    offsets = dict.fromkeys(servers, 0)
    warm = LoadSettings(short.seconds, 0.0, short.connections)
    measured_by_size: dict[str, list[dict[str, Any]]] = {size: [] for size in servers}
    for scenario in SCENARIOS:
        runs: dict[str, list[dict[str, Any]]] = {size: [] for size in servers}
        for round_number in range(GROWTH_ROUNDS):
            for size, (server, tenant, pending) in servers.items():
                label = f"{scenario} @ {size} #{round_number + 1}"
                if scenario == "availability":
                    plan = availability_plan(server, tenant, label)
                elif scenario == "checkout":
                    plan = checkout_plan(server, tenant, label)
                elif scenario == "statement":
                    plan = statement_plan(server, tenant, label, since, until)
                else:
                    # Each round sends events not sent before (no duplicates across rounds).
                    fresh = pending[offsets[size] :]
                    plan = webhook_plan(server, fresh, label, WEBHOOK_SECRET, 0.0)
                # The server is warm after a scenario's first round: later rounds measure
                # at once (20 fewer seconds of warm-up, no figure lost).
                measured = run_load(short if round_number == 0 else warm, plan, server)
                if scenario == "webhooks":
                    offsets[size] += int(measured["events_sent"])
                checks.no_errors(measured, f"growth {label}")
                runs[size].append(measured["summary"])
                measured_by_size[size].append(measured["summary"])
        for size, size_runs in runs.items():
            result.figures[f"{scenario}_{size}"] = _median_summary(size_runs)
    for size, (server, _, _) in servers.items():
        result.figures[f"webhooks_{size}"]["sent"] = offsets[size]
        checks.no_pool_timeout(server, measured_by_size[size], f"growth ({size})")
