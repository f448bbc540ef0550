"""PgBouncer's admin console read beside a load (bench/watch.py): where a request's
transactions waited in the pooler.

- `SHOW STATS` before and after the load, for the run's own database: transactions and
  queries, and the microseconds clients waited for a server connection (`total_wait_time`),
  spent in transactions (`total_xact_time`) and in queries (`total_query_time`);
- `SHOW POOLS` every 0.1 s: clients waiting for a server connection (`cl_waiting`), the
  others (`cl_active`: on a server connection or idle between transactions), and server
  connections in use (`sv_active`).

The admin console speaks only the simple query protocol (asyncpg's extended protocol is
refused), so one `psql` process reads the commands from its standard input for the whole
load: no process started per sample.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from typing import Any

# Printed after each command's rows: where one answer ends.
_END = "__bench_end__"
STATS = ("total_xact_count", "total_query_count", "total_wait_time", "total_xact_time")
STATS_ALL = (*STATS, "total_query_time")


def parse_rows(lines: list[str]) -> list[dict[str, str]]:
    """psql's unaligned output (a header line, then rows, `|` between fields) as rows."""
    if not lines:
        return []
    header = lines[0].split("|")
    return [dict(zip(header, line.split("|"), strict=False)) for line in lines[1:] if line]


def row_for(rows: list[dict[str, str]], database: str) -> dict[str, str] | None:
    return next((row for row in rows if row.get("database") == database), None)


class PoolerConsole:
    """One psql session on PgBouncer's admin console (database `pgbouncer`)."""

    def __init__(self, port: int, host: str = "127.0.0.1", user: str = "postgres") -> None:
        self.address = (host, port, user)
        self._process: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        psql = shutil.which("psql") or "/usr/bin/psql"
        host, port, user = self.address
        self._process = await asyncio.create_subprocess_exec(
            psql,
            *("-h", host, "-p", str(port), "-U", user, "-d", "pgbouncer"),
            *("-A", "-X", "-q", "-P", "footer=off", "-f", "-"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def show(self, what: str) -> list[dict[str, str]]:
        """The rows of `SHOW <what>`."""
        process = self._process
        assert process is not None
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(f"SHOW {what};\n\\echo {_END}\n".encode())
        await process.stdin.drain()
        lines: list[str] = []
        while True:
            raw = await asyncio.wait_for(process.stdout.readline(), timeout=10)
            if not raw:
                raise ConnectionError("psql on PgBouncer's admin console ended")
            line = raw.decode().rstrip("\n")
            if line == _END:
                return parse_rows(lines)
            lines.append(line)

    async def close(self) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            process.kill()
            await process.wait()


@dataclass
class PoolerReading:
    """SHOW STATS before and after, SHOW POOLS sampled, for one database."""

    database: str
    before: dict[str, str] | None = None
    after: dict[str, str] | None = None
    samples: int = 0
    waiting: int = 0  # cl_waiting summed over samples
    active: int = 0  # cl_active summed over samples
    servers: int = 0  # sv_active summed over samples
    most_waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def add_pools(self, rows: list[dict[str, str]]) -> None:
        row = row_for(rows, self.database)
        if row is None:
            return
        self.samples += 1
        waiting = int(row.get("cl_waiting") or 0)
        self.waiting += waiting
        self.active += int(row.get("cl_active") or 0)
        self.servers += int(row.get("sv_active") or 0)
        self.most_waiting = max(self.most_waiting, waiting)

    def summary(self) -> dict[str, Any] | None:
        if self.before is None or self.after is None:
            return None
        before, after = self.before, self.after
        delta = {key: int(after.get(key) or 0) - int(before.get(key) or 0) for key in STATS_ALL}
        n = max(self.samples, 1)
        return {
            "transactions": delta["total_xact_count"],
            "queries": delta["total_query_count"],
            "wait_ms": delta["total_wait_time"] / 1000,
            "transaction_ms": delta["total_xact_time"] / 1000,
            "query_ms": delta["total_query_time"] / 1000,
            "samples": self.samples,
            "mean_waiting": self.waiting / n,
            "mean_active": self.active / n,
            "mean_servers": self.servers / n,
            "most_waiting": self.most_waiting,
        }


async def sample_pooler(
    console: PoolerConsole, reading: PoolerReading, stop: asyncio.Event, interval: float
) -> None:
    """SHOW STATS now, SHOW POOLS every `interval` until `stop`, then SHOW STATS again."""
    reading.before = row_for(await console.show("STATS"), reading.database)
    while not stop.is_set():
        reading.add_pools(await console.show("POOLS"))
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue
    reading.after = row_for(await console.show("STATS"), reading.database)
