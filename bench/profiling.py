"""py-spy profiles of `bookpay serve` under load (summarised by bench/profile_summary.py).

Every subprocess here runs this venv's own executables with arguments built here.
"""

# ruff: noqa: S603

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    BIN,
    DUPLICATE_SHARE,
    WEBHOOK_SECRET,
    free_port,
    log,
    throwaway_database,
    with_engine,
)
from bench.configs import served_url
from bench.load import LoadSettings, run_load
from bench.profile_summary import summarize_profile
from bench.scenarios import CUSTOMERS, LATENCY_P50_MS, LATENCY_P99_MS
from bench.seed import seed_pending_bookings
from bench.servers import Server, bookpay_command, server_env, start_server, stop_server
from bench.shop import availability_plan, book_page_plan, checkout_plan, set_up_tenant
from bench.storms import STORM_CONNECTIONS, STORM_WORKERS

# Pending bookings for the webhooks profile: more than its 5 seconds send (~700 events on
# the idle machine). Fewer than the figures' 8,000 (~4 s less seeding): the profile shows
# the worker's running time only, not the database's, whose work grows with its rows.
PROFILE_BOOKINGS = 3_000
# The profile of the checkout under Stripe's latency, at half the customers.
LATENCY_PROFILE = "checkout_latency"
# The same at full load: the 80 % throughput target's figure, not the p99 target's.
LATENCY_FULL_PROFILE = "checkout_latency_full"
LATENCY_SETTING = f"{LATENCY_P50_MS},{LATENCY_P99_MS}"
# The other one-worker configurations whose checkout and webhooks miss their targets
# (database, through PgBouncer?): a profile of those two loads each, about 30 s in all on
# the idle machine.
OTHER_PROFILED = (("sqlite", False), ("postgres", True))
# Two workers are profiled over uvicorn's supervisor and both workers (py-spy
# --subprocesses), under the checkout and the webhooks on each database, browsing over the
# shorter load below, and on PostgreSQL
# also under the webhooks on the storm's connections (bench/storms.py): the profile its
# target links.
TWO_WORKERS_PROFILED = ("postgres", "sqlite")
STORM_PROFILE = f"webhooks on {STORM_CONNECTIONS} connections"
# SQLite's one worker, and two workers on each database, are also profiled under browsing
# (availability, the booking page), each over a shorter load (BROWSING_SECONDS after
# BROWSING_WARMUP): about 6 s more per configuration.
BROWSING_PROFILED = ("sqlite",)
BROWSING_SECONDS = 2.0
BROWSING_WARMUP = 1.0


def where(database: str, pgbouncer: bool, workers: int = 1) -> str:
    """As ConfigResult.where names a configuration."""
    return f"{database}{' via PgBouncer' if pgbouncer else ''}, workers {workers}"


def profile_key(scenario: str, database: str, pgbouncer: bool, workers: int = 1) -> str:
    """A profile's name in the report: the scenario, and the configuration when it is not
    PostgreSQL served directly by one worker (whose profiles keep their plain names)."""
    if (database, pgbouncer, workers) == ("postgres", False, 1):
        return scenario
    return f"{scenario} ({where(database, pgbouncer, workers)})"


def storm_profile_key() -> str:
    """The name of the profile the webhook storm's target links."""
    return profile_key(STORM_PROFILE, "postgres", False, STORM_WORKERS)


def ensure_py_spy() -> Path | None:
    """This venv's py-spy (the dev extra of pyproject.toml: `make install`), or None."""
    py_spy = BIN / "py-spy"
    if not py_spy.exists():
        log(f"{py_spy} not found (`make install` installs it); skipping the profiles")
        return None
    return py_spy


def profile_bookpay(py_spy: Path, load: LoadSettings) -> dict[str, dict[str, Any]]:
    """py-spy over one worker: of SQLite and of PostgreSQL via PgBouncer under the checkout
    and the webhooks (and SQLite under browsing, over a shorter load); of PostgreSQL under
    each load a target measures (the checkout, the webhooks, availability and the booking
    page, then the checkout under Stripe's latency at half the customers,
    bench/scenarios.py). Over two workers and their supervisor: the checkout, the webhooks
    and browsing on each database, and the storm's load on PostgreSQL. Each miss of a
    profiled load in the report names the profile that explains it."""
    profiles: dict[str, dict[str, Any]] = {}
    for database, pgbouncer in OTHER_PROFILED:
        log(f"profiling bookpay with py-spy ({where(database, pgbouncer)}): checkout, webhooks")
        profiles.update(_checkout_and_webhooks(py_spy, load, database, pgbouncer))
    for database in TWO_WORKERS_PROFILED:
        log(f"profiling bookpay with py-spy ({where(database, False, 2)}): all four loads")
        profiles.update(_checkout_and_webhooks(py_spy, load, database, False, workers=2))
    log("profiling bookpay with py-spy (postgres, 1 worker)")
    with throwaway_database("postgres") as url:
        port = free_port()
        server = start_server("bookpay", bookpay_command(port, 1), server_env(url, port), port)
        try:
            tenant = set_up_tenant(server, "profile-studio")
            pending = with_engine(
                url, lambda engine: seed_pending_bookings(engine, tenant, PROFILE_BOOKINGS)
            )
            plans = {
                "checkout": checkout_plan(server, tenant, "checkout (profiled)"),
                "webhooks": _webhook_plan(server, pending),
                "availability": availability_plan(server, tenant, "availability (profiled)"),
                "book_page": book_page_plan(server, tenant, "booking page (profiled)"),
            }
            for scenario, plan in plans.items():
                profiles[scenario] = _profiled(py_spy, server, plan, load, load.connections)
                profiles[scenario]["where"] = where("postgres", False)
        finally:
            stop_server(server)
        port = free_port()
        env = {**server_env(url, port), "BOOKPAY_FAKE_STRIPE_LATENCY_MS": LATENCY_SETTING}
        server = start_server("bookpay", bookpay_command(port, 1), env, port)
        try:
            tenant = set_up_tenant(server, "profile-latency-studio")
            plan = checkout_plan(server, tenant, "checkout, gateway latency (profiled)")
            for name, customers in (
                (LATENCY_FULL_PROFILE, CUSTOMERS),
                (LATENCY_PROFILE, CUSTOMERS // 2),
            ):
                profiles[name] = _profiled(py_spy, server, plan, load, customers)
                profiles[name].update(
                    where=where("postgres", False), latency_ms=(LATENCY_P50_MS, LATENCY_P99_MS)
                )
        finally:
            stop_server(server)
    return profiles


def _checkout_and_webhooks(
    py_spy: Path, load: LoadSettings, database: str, pgbouncer: bool, workers: int = 1
) -> dict[str, dict[str, Any]]:
    """The server's profiles of the checkout and the webhooks on `workers` of `database`
    (through PgBouncer if `pgbouncer`), of browsing on SQLite's one worker and on two
    workers, and of the storm's load on its configuration, by profile_key."""
    found: dict[str, dict[str, Any]] = {}
    storm = (database, pgbouncer, workers) == ("postgres", False, STORM_WORKERS)
    with served_url(database, pgbouncer) as (watch, url, extra):
        port = free_port()
        env = {**server_env(url, port), **extra}
        server = start_server("bookpay", bookpay_command(port, workers), env, port)
        try:
            tenant = set_up_tenant(server, "profile-studio")
            # Seeded on the database itself, not through the pooler (as bench/configs.py);
            # each webhook load sends its own bookings' events, from its first.
            seeded = PROFILE_BOOKINGS * (2 if storm else 1)
            pending = with_engine(
                watch.direct_url,
                lambda engine: seed_pending_bookings(engine, tenant, seeded),
            )
            plans = {
                "checkout": (checkout_plan(server, tenant, "checkout (profiled)"), load),
                "webhooks": (_webhook_plan(server, pending[:PROFILE_BOOKINGS]), load),
            }
            if storm:
                plans[STORM_PROFILE] = (
                    _webhook_plan(server, pending[PROFILE_BOOKINGS:], STORM_PROFILE),
                    LoadSettings(load.seconds, load.warmup, STORM_CONNECTIONS),
                )
            if not pgbouncer and (database in BROWSING_PROFILED or workers > 1):
                short = LoadSettings(
                    min(load.seconds, BROWSING_SECONDS),
                    min(load.warmup, BROWSING_WARMUP),
                    load.connections,
                )
                plans["availability"] = (
                    availability_plan(server, tenant, "availability (profiled)"),
                    short,
                )
                plans["book_page"] = (
                    book_page_plan(server, tenant, "booking page (profiled)"),
                    short,
                )
            for scenario, (plan, settings) in plans.items():
                profile = _profiled(
                    py_spy, server, plan, settings, settings.connections, workers > 1
                )
                profile["where"] = where(database, pgbouncer, workers)
                found[profile_key(scenario, database, pgbouncer, workers)] = profile
        finally:
            stop_server(server)
    return found


def _webhook_plan(server: Server, pending: Any, label: str = "webhooks") -> dict[str, Any]:
    return {
        "label": f"{label} (profiled)",
        "kind": "webhook",
        "port": server.port,
        "secret": WEBHOOK_SECRET,
        "bookings": pending,
        "duplicate_share": DUPLICATE_SHARE,
    }


def _profiled(
    py_spy: Path,
    server: Server,
    plan: dict[str, Any],
    load: LoadSettings,
    connections: int,
    subprocesses: bool = False,
) -> dict[str, Any]:
    """The worker's profile over `load.seconds` of `plan` on `connections`, after a warm-up;
    with `subprocesses`, of the server's process and its workers together."""
    output = Path(tempfile.mkstemp(prefix="bench_profile_")[1])
    recorder = subprocess.Popen(
        [
            str(py_spy),
            "record",
            *(["--subprocesses"] if subprocesses else []),
            "--pid",
            str(server.process.pid),
            "--rate",
            "200",
            "--duration",
            str(int(load.warmup + load.seconds)),
            "--format",
            "raw",
            "--output",
            str(output),
            "--nonblocking",
            "--full-filenames",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run_load(LoadSettings(load.seconds, load.warmup, connections), plan, server)
        recorder.wait(timeout=60)
        return {
            **summarize_profile(output.read_text()),
            "connections": connections,
            "seconds": load.warmup + load.seconds,
        }
    finally:
        output.unlink(missing_ok=True)
