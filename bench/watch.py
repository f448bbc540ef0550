"""What the database side did during one load, read beside it (bench/load.py):

- PostgreSQL: the CPU of the backends connected to the run's own database (other helpers'
  databases on the same server left out), and on request a sample of `pg_stat_activity`
  every 0.1 s (how many of its connections were active or idle in a transaction, and the
  oldest open transaction);
- PgBouncer: its own process's CPU (the extra hop), and on request its admin console's
  `SHOW STATS` and `SHOW POOLS` (bench/pooler_console.py): how long transactions waited
  for a server connection;
- on request, the server's `/health/ready` every 0.1 s: its admission line (requests at
  work, waiting); and how long its `/health/live` took (the event loop's queue);
- SQLite: the writer's turn (bench's `<database>-writer.lock`, adapters/sql/sqlite_writers.py)
  sampled from /proc/locks every 5 ms: how much of the time some process held it, which
  worker did, and how many waited for it.

A thread of the runner does the sampling while the load runs in its own process.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import connect_postgres
from bench.pooler_console import PoolerConsole, PoolerReading, sample_pooler

LOCK_INTERVAL = 0.005
ACTIVITY_INTERVAL = 0.1
READY_INTERVAL = 0.1


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


@dataclass
class WatchTarget:
    """Where to look: the database URL the runner reaches directly (not through the
    pooler), PgBouncer's pid, SQLite's writer lock file; `activity` samples
    pg_stat_activity."""

    direct_url: str
    pooler_pid: int | None = None
    activity: bool = False
    # With a port, `/health/ready` of that server is read every READY_INTERVAL: the
    # admission line's places at work and requests waiting; and how long `/health/live`
    # took (it waits for no place and needs nothing but the event loop).
    readiness_port: int | None = None
    # With a port, PgBouncer's admin console is read beside the load (bench/pooler_console.py).
    pooler_port: int | None = None
    # With `activity` and a limit (ms): how many samples showed an open transaction older
    # than it (Checks.no_transaction_across_gateway).
    transaction_limit_ms: float | None = None

    @property
    def sqlite_lock(self) -> Path | None:
        if not self.direct_url.startswith("sqlite"):
            return None
        return Path(f"{make_url(self.direct_url).database}-writer.lock")


@dataclass
class _Activity:
    limit_ms: float | None = None
    samples: int = 0
    # Samples in which some open transaction was older than `limit_ms`.
    over_limit: int = 0
    states: Counter[str] = field(default_factory=Counter)  # summed over samples
    most: Counter[str] = field(default_factory=Counter)  # the most seen in one sample
    oldest_transaction_ms: float = 0.0
    waits: Counter[str] = field(default_factory=Counter)
    # Active sessions by what they waited on ("running": no wait event), summed over samples.
    active_by: Counter[str] = field(default_factory=Counter)

    def add(self, rows: list[Any]) -> None:
        self.samples += 1
        here: Counter[str] = Counter(str(row["state"]) for row in rows)
        self.states.update(here)
        for state, count in here.items():
            self.most[state] = max(self.most[state], count)
        ages = [float(row["xact_ms"]) for row in rows if row["xact_ms"] is not None]
        if ages:
            self.oldest_transaction_ms = max(self.oldest_transaction_ms, *ages)
        if self.limit_ms is not None and ages and max(ages) > self.limit_ms:
            self.over_limit += 1
        for row in rows:
            if row["state"] == "active" and row["wait_event_type"]:
                self.waits[f"{row['wait_event_type']}:{row['wait_event']}"] += 1
            if row["state"] == "active":
                self.active_by[str(row["wait_event_type"] or "running")] += 1

    def summary(self) -> dict[str, Any]:
        n = max(self.samples, 1)
        return {
            "samples": self.samples,
            "mean": {state: count / n for state, count in self.states.items()},
            "most": dict(self.most),
            "oldest_transaction_ms": self.oldest_transaction_ms,
            "active_waits": dict(self.waits.most_common(4)),
            "mean_active_by": {kind: count / n for kind, count in self.active_by.items()},
            **(
                {"limit_ms": self.limit_ms, "samples_over_limit": self.over_limit}
                if self.limit_ms is not None
                else {}
            ),
        }


@dataclass
class _Readiness:
    samples: int = 0
    in_flight: int = 0  # summed over samples
    waiting: int = 0
    most_waiting: int = 0
    live_ms: list[float] = field(default_factory=list)

    def add(self, in_flight: int, waiting: int, live_ms: float) -> None:
        self.samples += 1
        self.in_flight += in_flight
        self.waiting += waiting
        self.most_waiting = max(self.most_waiting, waiting)
        self.live_ms.append(live_ms)

    def summary(self) -> dict[str, Any]:
        probes = sorted(self.live_ms)
        return {
            "samples": self.samples,
            "mean_in_flight": self.in_flight / self.samples,
            "mean_waiting": self.waiting / self.samples,
            "most_waiting": self.most_waiting,
            "live_p50_ms": probes[len(probes) // 2],
            "live_mean_ms": sum(probes) / len(probes),
        }


async def read_readiness(client: httpx.AsyncClient) -> tuple[int, int, float]:
    """(in_flight, waiting) from the server's /health/ready (200 or 503, both JSON), and the
    milliseconds its /health/live took: a request that waits for no place and needs nothing
    but the event loop (readiness opens a database connection of its own, which takes
    several turns of the loop). `client`: one with the server's base URL."""
    started = time.perf_counter()
    await client.get("/health/live")
    live_ms = 1000 * (time.perf_counter() - started)
    ready = (await client.get("/health/ready")).json()
    return int(ready["in_flight"]), int(ready["waiting"]), live_ms


class Watch:
    def __init__(self, target: WatchTarget) -> None:
        self.target = target
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self.result: dict[str, Any] = {}

    def start(self) -> None:
        self._started = time.perf_counter()
        self._thread.start()
        self._ready.wait(timeout=10)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        wall = max(time.perf_counter() - self._started, 1e-9)
        self.result["wall_seconds"] = wall

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # the load's figures stand without the watch
            self.result["watch_error"] = repr(error)[:300]
            self._ready.set()

    async def _main(self) -> None:
        target = self.target
        connection = None
        if target.direct_url.startswith("postgresql"):
            connection = await connect_postgres(target.direct_url)
        pooler = [target.pooler_pid] if target.pooler_pid else []
        backends_before = await self._backends(connection)
        cpu_before = cpu_seconds(backends_before)
        pooler_before = cpu_seconds(pooler)
        lock = target.sqlite_lock
        inode = lock.stat().st_ino if lock is not None and lock.exists() else None
        held = 0
        lock_samples = 0
        waiting = 0
        holders: Counter[int] = Counter()
        activity = _Activity(limit_ms=target.transaction_limit_ms)
        next_activity = 0.0
        readiness = _Readiness()
        # A connection per probe, as a new request of a customer meets the loop (its accept
        # is a turn too).
        probe = (
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{target.readiness_port}",
                timeout=30,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            if target.readiness_port is not None
            else None
        )
        console = PoolerConsole(target.pooler_port) if target.pooler_port is not None else None
        pooled = PoolerReading(str(make_url(target.direct_url).database))
        if console is not None:
            try:
                await console.open()
            except OSError as error:  # no psql: the other readings stand without it
                self.result["pooler_error"] = repr(error)[:300]
                console = None
        # The probes and the pooler's console answer in their own time: tasks of their own,
        # so that a slow answer delays no sample of the writer's turn.
        stop = asyncio.Event()
        tasks = [
            *([asyncio.create_task(_probe(probe, readiness, stop))] if probe else []),
            *(
                [asyncio.create_task(sample_pooler(console, pooled, stop, ACTIVITY_INTERVAL))]
                if console
                else []
            ),
        ]
        self._ready.set()
        if not (inode is not None or (connection is not None and target.activity)):
            # Nothing to sample here: wake the moment the load ends, not up to a sampling
            # interval later (the run has ~30 watched figures).
            await asyncio.to_thread(self._stop.wait)
        while not self._stop.is_set():
            now = time.perf_counter()
            if inode is not None:
                holder, waiters = _lock_state(inode)
                lock_samples += 1
                waiting += waiters
                if holder is not None:
                    held += 1
                    holders[holder] += 1
            if connection is not None and target.activity and now >= next_activity:
                next_activity = now + ACTIVITY_INTERVAL
                activity.add(await self._activity(connection))
            await asyncio.sleep(LOCK_INTERVAL if inode is not None else ACTIVITY_INTERVAL)
        stop.set()
        for failed in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(failed, BaseException):
                self.result.setdefault("watch_error", repr(failed)[:300])
        if console is not None:
            await console.close()
            if (pooler_reading := pooled.summary()) is not None:
                self.result["pooler"] = pooler_reading
        backends_after = await self._backends(connection)
        self.result["database_cpu_seconds"] = cpu_used(cpu_before, cpu_seconds(backends_after))
        self.result["backends"] = len(set(backends_before) | set(backends_after))
        self.result["pooler_cpu_seconds"] = cpu_used(pooler_before, cpu_seconds(pooler))
        if inode is not None and lock_samples:
            self.result["writer_turn"] = {
                "held_share": held / lock_samples,
                "mean_waiting": waiting / lock_samples,
                # Each holder's share of the samples in which the turn was held.
                "by_process": sorted(
                    (round(count / max(held, 1), 2) for count in holders.values()), reverse=True
                ),
                "samples": lock_samples,
            }
        if target.activity and activity.samples:
            self.result["activity"] = activity.summary()
        if readiness.samples:
            self.result["readiness"] = readiness.summary()
        if connection is not None:
            await connection.close()
        if probe is not None:
            await probe.aclose()

    @staticmethod
    async def _backends(connection: asyncpg.Connection | None) -> list[int]:
        if connection is None:
            return []
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [int(row["pid"]) for row in rows]

    @staticmethod
    async def _activity(connection: asyncpg.Connection) -> list[Any]:
        return list(
            await connection.fetch(
                "SELECT state, wait_event_type, wait_event, "
                "extract(epoch FROM clock_timestamp() - xact_start) * 1000 AS xact_ms "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        )


async def _probe(client: httpx.AsyncClient, readiness: _Readiness, stop: asyncio.Event) -> None:
    """The server's readiness and liveness every READY_INTERVAL until `stop`."""
    while not stop.is_set():
        started = time.perf_counter()
        readiness.add(*await read_readiness(client))
        left = READY_INTERVAL - (time.perf_counter() - started)
        if left > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=left)
            except TimeoutError:
                continue


def _lock_state(inode: int) -> tuple[int | None, int]:
    """(pid holding the flock on `inode`, how many wait for it) from /proc/locks."""
    holder = None
    waiters = 0
    suffix = f":{inode} "
    for line in Path("/proc/locks").read_text().splitlines():
        if suffix not in line or "FLOCK" not in line:
            continue
        if "->" in line:
            waiters += 1
        else:
            holder = int(line.split()[4])
    return holder, waiters


def pooler_pid(log_path: Path) -> int | None:
    """PgBouncer's pid, from the pidfile beside its log (tools/pgbouncer.py)."""
    try:
        return int((log_path.parent / "pgbouncer.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
