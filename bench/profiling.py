"""py-spy profiles of `bookpay serve` under load, summarised by layer and function.

Every subprocess here runs this venv's own executables with arguments built here.
"""

# ruff: noqa: S603

from __future__ import annotations

import linecache
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    BIN,
    DUPLICATE_SHARE,
    ROOT,
    WEBHOOK_SECRET,
    free_port,
    log,
    throwaway_database,
    with_engine,
)
from bench.configs import served_url
from bench.load import LoadSettings, run_load
from bench.scenarios import (
    CUSTOMERS,
    LATENCY_P50_MS,
    LATENCY_P99_MS,
    STORM_CONNECTIONS,
    STORM_WORKERS,
)
from bench.seed import seed_pending_bookings
from bench.servers import Server, bookpay_command, server_env, start_server, stop_server
from bench.shop import availability_plan, book_page_plan, checkout_plan, set_up_tenant

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
# also under the webhooks on the storm's connections (bench/scenarios.py): the profile its
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


PROJECT_PACKAGES = ("domain", "application", "adapters", "entrypoints")
LAYERS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("asyncpg", "asyncpg"),
    ("aiosqlite", "aiosqlite"),
    ("sqlite3", "sqlite3"),
    ("litestar", "Litestar"),
    ("msgspec", "msgspec"),
    ("h11", "uvicorn/h11"),
    ("uvicorn", "uvicorn/h11"),
    ("dependency_injector", "dependency-injector"),
    ("httpx", "httpx"),
    ("asyncio", "asyncio"),
    ("json", "json"),
    ("logging", "logging"),
)


def ensure_py_spy() -> Path | None:
    """This venv's py-spy (the dev extra of pyproject.toml: `make install`), or None."""
    py_spy = BIN / "py-spy"
    if not py_spy.exists():
        log(f"{py_spy} not found (`make install` installs it); skipping the profiles")
        return None
    return py_spy


def _frame_parts(frame: str) -> tuple[str, str]:
    """'function (path/to/file.py:12)' → ('function', 'path/to/file.py')."""
    name, _, rest = frame.partition(" (")
    return name, rest.rsplit(":", 1)[0]


def _project_path(path: str) -> str | None:
    parts = Path(path).parts
    for index, part in enumerate(parts):
        if part in PROJECT_PACKAGES and str(ROOT) in path and "site-packages" not in path:
            return "/".join(parts[index:])
    return None


def _layer(path: str) -> str:
    if _project_path(path):
        return "Bookpay (domain/application/adapters/entrypoints)"
    for needle, layer in LAYERS:
        if f"/{needle}/" in path or path.endswith(f"/{needle}.py"):
            return layer
    return "other (interpreter, stdlib)"


# Where a sample's stack says the worker was, beside its layers (each a share of all samples):
# - "aiosqlite_thread": in one of aiosqlite's connection threads; of those,
#   "aiosqlite_waiting": at the thread's `tx.get()`, waiting for its next statement (read from
#   the recorded line's source), the rest running one (SQLite's C library, off the loop);
# - "event_loop_wait": the event loop waiting for a socket or a thread's answer: asyncio's
#   `select` (selectors.py; `EpollSelector.select` on Python 3.11), or under uvloop
#   (`bookpay serve`'s loop) a stack with no Python frame above the loop's entry
#   (`Runner.run`): uvloop's loop is C, and native stacks of the SQLite checkout
#   (`py-spy --native`, 1 December) put 147 of 164 such samples in libuv's `epoll_pwait`.
# py-spy without --idle keeps these waits in part: a thread woken hundreds of times a
# second is often caught runnable.
AIOSQLITE_THREAD = "_connection_worker_thread"
# asyncio.run's frames that call the loop (Python 3.11+, and 3.10's `run`).
LOOP_ENTRIES = ("Runner.run", "run")
# With --subprocesses py-spy roots each stack in its processes, parent first, each a frame
# 'process 12:"command line"'; a command line may hold ';' (multiprocessing's spawn does),
# so these frames are cut off whole before the stack is split. The first is the process
# py-spy was given (uvicorn's supervisor), the last the sampled one; a sample with no Python
# frame below them is left out, as a process's own empty stack is without --subprocesses.
PROCESS_FRAMES = re.compile(r'^(?:process (\d+):".*?"(?:;|$))+')
FIRST_PROCESS = re.compile(r'^process (\d+):"')


def where_sampled(frames: list[str]) -> list[str]:
    """The where_sampled keys (the comment above) of one sample's frames, root first."""
    leaf_name, leaf_path = _frame_parts(frames[-1])
    if any(_frame_parts(frame)[0] == AIOSQLITE_THREAD for frame in frames):
        if leaf_name == AIOSQLITE_THREAD and "tx.get(" in _source_line(frames[-1]):
            return ["aiosqlite_thread", "aiosqlite_waiting"]
        return ["aiosqlite_thread"]
    if leaf_name.rpartition(".")[2] == "select" and Path(leaf_path).name == "selectors.py":
        return ["event_loop_wait"]
    if leaf_name in LOOP_ENTRIES and leaf_path.endswith("asyncio/runners.py"):
        # asyncio's own loop is Python: its samples end in base_events.py or below it.
        return ["event_loop_wait"]
    return []


def _source_line(frame: str) -> str:
    """The source of a frame 'name (path/to/file.py:12)' (py-spy's --full-filenames), or ''."""
    _, _, rest = frame.partition(" (")
    path, _, line = rest.rstrip(")").rpartition(":")
    return linecache.getline(path, int(line)) if line.isdigit() else ""


def summarize_profile(raw: str) -> dict[str, Any]:
    total = 0
    sampled: dict[str, int] = {}
    leaf: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    layers: dict[str, int] = {}
    processes: dict[str, int] = {}
    supervisor = ""
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        process = PROCESS_FRAMES.match(stack)
        first = FIRST_PROCESS.match(stack)
        if process is not None and first is not None:
            stack = stack[process.end() :]
            if not stack:
                continue
            processes[process[1]] = processes.get(process[1], 0) + count
            supervisor = first[1]
        total += count
        frames = [f for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        for where_key in where_sampled(frames):
            sampled[where_key] = sampled.get(where_key, 0) + count
        name, path = _frame_parts(frames[-1])
        key = f"{name} ({Path(path).name})"
        leaf[key] = leaf.get(key, 0) + count
        layers[_layer(path)] = layers.get(_layer(path), 0) + count
        seen: set[str] = set()
        for frame in frames:
            name, path = _frame_parts(frame)
            project = _project_path(path)
            if project is None:
                continue
            key = f"{project}:{name}"
            if key not in seen:
                seen.add(key)
                inclusive[key] = inclusive.get(key, 0) + count

    def top(counts: dict[str, int], n: int) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:n]
        return [(key, 100 * value / max(total, 1)) for key, value in ranked]

    return {
        "samples": total,
        "layers": top(layers, 12),
        "leaf": top(leaf, 12),
        "inclusive": top(inclusive, 18),
        "where_sampled": {key: 100 * value / max(total, 1) for key, value in sampled.items()},
        # Each process's role and share of the samples, largest first (empty for one process).
        "processes": [
            ("supervisor" if pid == supervisor else "worker", share)
            for pid, share in top(processes, len(processes))
        ],
    }


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
