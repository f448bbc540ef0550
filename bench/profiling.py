"""py-spy profiles of `bookpay serve` under load (summarised by bench/profile_summary.py).

Every subprocess here runs this venv's own executables with arguments built here.
"""

# ruff: noqa: S603

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Collection
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
from bench.storms import QUEUE_MODE, STORM_CONNECTIONS, STORM_QUEUE_RATE, STORM_WORKERS

# Pending bookings for the webhooks profile: more than its 5 seconds send (~700 events on
# the idle machine). Fewer than the figures' 8,000 (~4 s less seeding): the profile shows
# the worker's running time only, not the database's, whose work grows with its rows.
PROFILE_BOOKINGS = 3_000
# The profile of the checkout under Stripe's latency, at half the customers.
LATENCY_PROFILE = "checkout_latency"
# The same at full load: the 80 % throughput target's figure, not the p99 target's.
LATENCY_FULL_PROFILE = "checkout_latency_full"
LATENCY_SETTING = f"{LATENCY_P50_MS},{LATENCY_P99_MS}"
LATENCY_PROFILES = ((LATENCY_FULL_PROFILE, CUSTOMERS), (LATENCY_PROFILE, CUSTOMERS // 2))
# The one-worker configurations profiled under the loads whose targets they miss
# (database, through PgBouncer?); a two-worker miss links its database's one-worker profile
# of the same load (the same code per request; its costs section splits the CPU by worker).
ONE_WORKER_PROFILED = (("postgres", False), ("sqlite", False), ("postgres", True))
# The loads a target measures on each configuration, by profile name (PgBouncer's targets
# are the checkout and the webhooks only).
LOADS = ("checkout", "webhooks", "availability", "book_page")
# The storm's load is profiled over uvicorn's supervisor and both workers (py-spy
# --subprocesses), on the storm's connections (bench/storms.py): the profile its target
# links.
STORM_PROFILE = f"webhooks on {STORM_CONNECTIONS} connections"
# The same load in queue mode, unpaced as its storm (bench/storms.py): the acknowledgements
# and the worker's drain beside them, the profile the queue-mode storm's target links.
QUEUE_STORM_PROFILE = f"webhooks in queue mode on {STORM_CONNECTIONS} connections"
QUEUE_STORM_ENV = {**QUEUE_MODE, "BOOKPAY_WEBHOOK_QUEUE_RATE": str(STORM_QUEUE_RATE)}
STORMS = (STORM_PROFILE, QUEUE_STORM_PROFILE)
# Each profile but those under Stripe's latency (whose connections open gradually under
# the first answers' delay: the figures' own load) samples PROFILE_WARMUP + PROFILE_SECONDS:
# 600 samples at 200 Hz per process, shares to about a point or two at the shares the
# tables show (their standard error at 10 % is 1.2 points), in 3 s instead of the figures'
# 5 (about 25 s less over a run's dozen profiles).
PROFILE_SECONDS = 2.5
PROFILE_WARMUP = 0.5


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


def queue_storm_profile_key() -> str:
    """The name of the profile the webhook storm's target in queue mode links."""
    return profile_key(QUEUE_STORM_PROFILE, "postgres", False, STORM_WORKERS)


def ensure_py_spy() -> Path | None:
    """This venv's py-spy (the dev extra of pyproject.toml: `make install`), or None."""
    py_spy = BIN / "py-spy"
    if not py_spy.exists():
        log(f"{py_spy} not found (`make install` installs it); skipping the profiles")
        return None
    return py_spy


def profile_bookpay(
    py_spy: Path, load: LoadSettings, needed: Collection[str]
) -> dict[str, dict[str, Any]]:
    """py-spy over the server under each load whose profile `needed` names (by profile_key:
    the profiles that explain this run's missed targets, bench/profile_choice.py): on one
    worker of PostgreSQL, SQLite or PostgreSQL via PgBouncer; the storm's load over two
    workers and their supervisor, applied in the request and in queue mode; the checkout
    under Stripe's latency at full and at half the customers (bench/scenarios.py). Each
    miss of a profiled load in the report names the profile that explains it."""
    profiles: dict[str, dict[str, Any]] = {}
    for database, pgbouncer in ONE_WORKER_PROFILED:
        scenarios = [s for s in LOADS if profile_key(s, database, pgbouncer) in needed]
        if scenarios:
            log(f"profiling bookpay with py-spy ({where(database, pgbouncer)}): {scenarios}")
            profiles.update(_profile_configuration(py_spy, load, database, pgbouncer, scenarios))
    if storm_profile_key() in needed:
        log(f"profiling bookpay with py-spy ({where('postgres', False, STORM_WORKERS)}): storm")
        profiles.update(
            _profile_configuration(py_spy, load, "postgres", False, [STORM_PROFILE], STORM_WORKERS)
        )
    if queue_storm_profile_key() in needed:
        log(
            f"profiling bookpay with py-spy ({where('postgres', False, STORM_WORKERS)}): "
            "storm in queue mode"
        )
        profiles.update(
            _profile_configuration(
                py_spy,
                load,
                "postgres",
                False,
                [QUEUE_STORM_PROFILE],
                STORM_WORKERS,
                QUEUE_STORM_ENV,
            )
        )
    latency = [
        (name, customers)
        for name, customers in (
            (LATENCY_FULL_PROFILE, CUSTOMERS),
            (LATENCY_PROFILE, CUSTOMERS // 2),
        )
        if name in needed
    ]
    if latency:
        log(f"profiling bookpay with py-spy (postgres, workers 1): {[n for n, _ in latency]}")
        profiles.update(_latency_profiles(py_spy, load, latency))
    return profiles


def _latency_profiles(
    py_spy: Path, load: LoadSettings, wanted: list[tuple[str, int]]
) -> dict[str, dict[str, Any]]:
    """The checkout under Stripe's latency, one profile per (name, customers) wanted."""
    found: dict[str, dict[str, Any]] = {}
    with throwaway_database("postgres") as url:
        port = free_port()
        env = {**server_env(url, port), "BOOKPAY_FAKE_STRIPE_LATENCY_MS": LATENCY_SETTING}
        server = start_server("bookpay", bookpay_command(port, 1), env, port)
        try:
            tenant = set_up_tenant(server, "profile-latency-studio")
            plan = checkout_plan(server, tenant, "checkout, gateway latency (profiled)")
            for name, customers in wanted:
                found[name] = _profiled(py_spy, server, plan, load, customers)
                found[name].update(
                    where=where("postgres", False), latency_ms=(LATENCY_P50_MS, LATENCY_P99_MS)
                )
        finally:
            stop_server(server)
    return found


def _profile_configuration(
    py_spy: Path,
    load: LoadSettings,
    database: str,
    pgbouncer: bool,
    scenarios: list[str],
    workers: int = 1,
    mode_env: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The server's profiles under `scenarios` (LOADS, STORM_PROFILE or QUEUE_STORM_PROFILE)
    on `workers` of `database` (through PgBouncer if `pgbouncer`), with `mode_env` added to
    the server's settings (QUEUE_STORM_ENV), by profile_key."""
    found: dict[str, dict[str, Any]] = {}
    with served_url(database, pgbouncer) as (watch, url, extra):
        port = free_port()
        env = {**server_env(url, port), **extra, **(mode_env or {})}
        server = start_server("bookpay", bookpay_command(port, workers), env, port)
        try:
            tenant = set_up_tenant(server, "profile-studio")
            # Seeded on the database itself, not through the pooler (as bench/configs.py).
            webhooks = [s for s in scenarios if s in ("webhooks", *STORMS)]
            pending = (
                with_engine(
                    watch.direct_url,
                    lambda engine: seed_pending_bookings(engine, tenant, PROFILE_BOOKINGS),
                )
                if webhooks
                else []
            )
            settings = LoadSettings(
                min(load.seconds, PROFILE_SECONDS), min(load.warmup, PROFILE_WARMUP), 0
            )
            for scenario in scenarios:
                connections = STORM_CONNECTIONS if scenario in STORMS else load.connections
                plan = _plan(server, tenant, scenario, pending)
                profile = _profiled(py_spy, server, plan, settings, connections, workers > 1)
                profile["where"] = where(database, pgbouncer, workers)
                found[profile_key(scenario, database, pgbouncer, workers)] = profile
        finally:
            stop_server(server)
    return found


def _plan(server: Server, tenant: Any, scenario: str, pending: Any) -> dict[str, Any]:
    if scenario == "checkout":
        return checkout_plan(server, tenant, "checkout (profiled)")
    if scenario == "availability":
        return availability_plan(server, tenant, "availability (profiled)")
    if scenario == "book_page":
        return book_page_plan(server, tenant, "booking page (profiled)")
    return _webhook_plan(server, pending, scenario)


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
