"""One configuration (database, workers, direct or through PgBouncer): its ceilings, then
Bookpay's browsing, checkout and webhook figures on the same database, with their checks.

For each configuration a throwaway database is served first by the calibration app (bare
JSON, one-row insert: the ceilings) and then by `bookpay serve`; the webhooks sent are
checked in the database (exactly once), and every slot's seat counters against its
bookings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from bench.checks import Checks, WebhookCheck, audit_seats, check_webhooks_applied
from bench.common import (
    DUPLICATE_SHARE,
    WEBHOOK_BOOKINGS,
    WEBHOOK_SECRET,
    free_port,
    log,
    throwaway_database,
    with_engine,
)
from bench.load import LoadSettings, run_load
from bench.roundtrips import counted_beside
from bench.seed import seed_pending_bookings
from bench.servers import (
    Server,
    bookpay_command,
    calibration_command,
    server_env,
    start_server,
    stop_server,
)
from bench.shop import (
    availability_caching,
    availability_plan,
    book_page_plan,
    checkout_plan,
    set_up_tenant,
    webhook_plan,
)
from bench.watch import WatchTarget, pooler_pid
from tools.pgbouncer import running_pgbouncer

# Requests the duplicates-only figure may send (the applied events, over and over).
DUPLICATES_ONLY = 4_000


@dataclass
class ConfigResult:
    database: str
    workers: int
    nodelay: bool = False
    pgbouncer: bool = False
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    memory: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: WebhookCheck | None = None
    # One availability answer's status and caching headers (bench/shop.py).
    caching: dict[str, str] = field(default_factory=dict)
    # Through PgBouncer: statements, prepares and round trips per request, counted on its
    # database directly and through its pooler (bench/roundtrips.py `count_beside`).
    round_trips: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.workers}{' + NODELAY' if self.nodelay else ''}"

    @property
    def where(self) -> str:
        via = " via PgBouncer" if self.pgbouncer else ""
        return f"{self.database}{via}, workers {self.label}"


@contextmanager
def served_url(database: str, pgbouncer: bool) -> Iterator[tuple[WatchTarget, str, dict[str, str]]]:
    """(what to watch: the migrated database and the pooler, URL the servers use, their
    extra settings)."""
    with ExitStack() as stack:
        url = stack.enter_context(throwaway_database(database))
        if not pgbouncer:
            yield WatchTarget(url), url, {}
            return
        bouncer = stack.enter_context(running_pgbouncer(url))
        target = WatchTarget(url, pooler_pid(bouncer.log_path), pooler_port=bouncer.port)
        yield target, bouncer.url_for(url), {"BOOKPAY_DB_TRANSACTION_POOLER": "true"}


def measure_ceilings(
    result: ConfigResult, url: str, extra: dict[str, str], load: LoadSettings, watch: WatchTarget
) -> None:
    port = free_port()
    ceiling = start_server(
        "calibration",
        calibration_command(port, result.workers, result.nodelay),
        {**server_env(url, port), **extra},
        port,
    )
    try:
        if not result.pgbouncer:
            result.figures["ceiling_json"] = run_load(
                load,
                {"label": "ceiling: bare JSON", "kind": "get", "port": port, "paths": ["/json"]},
                ceiling,
                watch,
            )["summary"]
        result.figures["ceiling_insert"] = run_load(
            load,
            {"label": "ceiling: one-row insert", "kind": "post", "port": port, "path": "/insert"},
            ceiling,
            watch,
        )["summary"]
        result.memory["calibration"] = ceiling.memory()
    finally:
        stop_server(ceiling)


def measure_configuration(
    database: str,
    workers: int,
    load: LoadSettings,
    checks: Checks,
    *,
    nodelay: bool = False,
    pgbouncer: bool = False,
) -> ConfigResult:
    result = ConfigResult(database, workers, nodelay, pgbouncer)
    log(result.where + (" + TCP_NODELAY (bench.nodelay)" if nodelay else ""))
    with served_url(database, pgbouncer) as (watch, url, extra):
        measure_ceilings(result, url, extra, load, watch)
        port = free_port()
        server = start_server(
            "bookpay",
            bookpay_command(port, workers, nodelay),
            {**server_env(url, port), **extra},
            port,
        )
        try:
            _measure_bookpay(result, server, watch, load, checks)
        finally:
            stop_server(server)
        if pgbouncer:
            result.round_trips = counted_beside(watch.direct_url, url)
    return result


def _measure_bookpay(
    result: ConfigResult, server: Server, watch: WatchTarget, load: LoadSettings, checks: Checks
) -> None:
    # The duplicates-only figure (apply-in-request vs from the inbox) on PostgreSQL, 1 worker.
    duplicates_figure = (result.database, result.workers, result.pgbouncer) == (
        "postgres",
        1,
        False,
    )
    url = watch.direct_url
    # Beside Bookpay's loads, what its requests waited on: the server's admission line and
    # event loop (its health probes), PostgreSQL's sessions of this database (bench/watch.py).
    watch = replace(watch, activity=url.startswith("postgresql"), readiness_port=server.port)
    result.memory["bookpay_ready"] = server.memory()
    tenant = set_up_tenant(server, "bench-studio")
    pending = with_engine(
        url, lambda engine: seed_pending_bookings(engine, tenant, WEBHOOK_BOOKINGS)
    )
    plans: dict[str, dict[str, Any]] = {}
    if not result.pgbouncer:
        plans["availability"] = availability_plan(server, tenant, "availability")
        result.caching = availability_caching(server, tenant)
        plans["book_page"] = book_page_plan(server, tenant, "booking page /book/{slug}")
    plans["checkout"] = checkout_plan(server, tenant, "checkout")
    plans["webhooks"] = webhook_plan(server, pending, "webhooks", WEBHOOK_SECRET, DUPLICATE_SHARE)
    sent: list[str] = []
    for key, plan in plans.items():
        measured = run_load(load, plan, server, watch)
        result.figures[key] = measured["summary"]
        checks.no_errors(measured, f"{key} ({result.where})")
        if key == "webhooks":
            sent = measured["sent_booking_ids"]
            checks.expect(
                not measured["exhausted"],
                f"webhooks ({result.where}): {len(pending):,} events outlast the load",
            )
        if key == "webhooks" and duplicates_figure:
            # The same events again: every request is a duplicate (verified, checked with
            # the gateway, found in the inbox), so the new events' apply part is the rest.
            applied = set(sent)
            again = [booking for booking in pending if booking["booking_id"] in applied]
            again *= -(-DUPLICATES_ONLY // max(len(again), 1))  # enough for the figure
            plan = webhook_plan(server, again, "webhooks, duplicates only", WEBHOOK_SECRET, 0.0)
            short = LoadSettings(min(load.seconds, 3.0), min(load.warmup, 0.5), load.connections)
            measured = run_load(short, plan, server, watch)
            result.figures["webhooks_duplicates"] = measured["summary"]
            checks.no_errors(measured, f"webhooks, duplicates only ({result.where})")
    result.memory["bookpay"] = server.memory()
    checks.no_pool_timeout(server, list(result.figures.values()), result.where)
    result.webhooks = with_engine(
        url, lambda engine: check_webhooks_applied(engine, tenant, sent, len(pending))
    )
    checks.expect(result.webhooks.exactly_once, f"webhooks exactly once ({result.where})")
    # The bench offering's slots are never scarce (the checkout figure measures sales, not
    # refusals): no race here, but a seat counter that drifted from its bookings shows.
    checks.seats_match_bookings(with_engine(url, audit_seats), result.where)
