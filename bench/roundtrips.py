"""Count the database work per request: `python -m bench.roundtrips [--database postgres]
[--pgbouncer]`.

Serves Bookpay (fake gateway) with uvicorn in a thread of this process on a throwaway
database, sets up the bench tenant over HTTP as `bench.run` does, then sends requests one
at a time and counts, per request:

- statements: every statement SQLAlchemy sends (a `before_cursor_execute` listener);
- round trips (PostgreSQL): every message exchange asyncpg has with the server, i.e. each
  prepared-statement execution, each PREPARE the statement cache missed, and each simple
  query (the BEGIN, COMMIT and ROLLBACK the asyncpg dialect sends on their own).

Nothing else runs in the process while a request is counted, so the deltas are exact.
The figures in bench/findings.md come from this tool.

`make bench` counts them too, beside its PgBouncer configuration (`counted_beside`): a few
requests of each kind on that configuration's own database, served directly and through its
PgBouncer (`--beside DIRECT_URL POOLED_URL --json`), so that the report explains the
pooler's cost with counts of the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import pstats
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

from adapters.stripe_wire.signature import sign
from bench.common import (
    BIN,
    ROOT,
    WEBHOOK_SECRET,
    inherited_env,
    log,
    throwaway_database,
    with_engine,
)
from bench.loadgen import completed_event
from bench.seed import seed_pending_bookings
from bench.shop import set_up_tenant
from bench.thread_server import ThreadServer
from tools.pgbouncer import running_pgbouncer

COUNTS: Counter[str] = Counter()
STATEMENTS: list[str] = []
# The requests of each kind `make bench` counts beside its PgBouncer configuration: the
# counts are exact at any number, and a few keep the count to seconds of the run.
RUN_REQUESTS = 10
# Where the pending bookings seeded for those counts are numbered from, past the 8,000 the
# configuration seeded in the same database (bench.common.WEBHOOK_BOOKINGS), one batch per
# way of serving.
RUN_FIRST_BOOKING = 100_000
POOLER_SETTING = {"BOOKPAY_DB_TRANSACTION_POOLER": "true"}
# The kinds of request counted, in the order they are sent.
KINDS = ("checkout", "webhook, new event", "webhook, duplicate")


def _install_counters() -> None:
    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(*args: Any) -> None:
        COUNTS["statements"] += 1
        STATEMENTS.append(" ".join(str(args[2]).split())[:110])

    import asyncpg.connection
    import asyncpg.prepared_stmt

    def counted(owner: Any, name: str, key: str, label: Callable[..., str] | None) -> None:
        original = getattr(owner, name)

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            COUNTS["round_trips"] += 1
            COUNTS[key] += 1
            if label is not None:
                STATEMENTS.append("  [" + label(*args, **kwargs) + "]")
            return await original(*args, **kwargs)

        setattr(owner, name, wrapper)

    # Simple queries (BEGIN / COMMIT / ROLLBACK and anything sent as plain text).
    counted(
        asyncpg.connection.Connection,
        "execute",
        "simple_queries",
        lambda self, query, *a, **k: str(query).strip(),
    )
    # PREPARE of a statement the dialect's prepared-statement cache did not have.
    counted(asyncpg.connection.Connection, "_get_statement", "prepares", lambda *a, **k: "PREPARE")
    # Bind + execute of a prepared statement.
    counted(
        asyncpg.prepared_stmt.PreparedStatement, "_PreparedStatement__do_execute", "executes", None
    )


@contextmanager
def counting(
    label: str, requests: int, results: dict[str, dict[str, float]], server: ThreadServer
) -> Iterator[None]:
    before = Counter(COUNTS)
    STATEMENTS.clear()
    cpu = server.cpu_seconds()
    yield
    cpu = server.cpu_seconds() - cpu
    delta = Counter(COUNTS)
    delta.subtract(before)
    results[label] = {key: delta[key] / requests for key in sorted(delta)}
    results[label]["cpu_ms"] = 1000 * cpu / requests


def _webhook(booking: dict[str, Any]) -> bytes:
    return completed_event(booking)


def measure(
    database: str, requests: int, show: bool, profile: str | None, pgbouncer: bool = False
) -> dict[str, dict[str, float]]:
    """`pgbouncer`: the servers reach PostgreSQL through a PgBouncer in transaction pooling
    mode (tools/pgbouncer.py), with BOOKPAY_DB_TRANSACTION_POOLER=true, as `make bench`'s
    PgBouncer configuration: the prepares then show whether statements are prepared again."""
    results: dict[str, dict[str, float]] = {}
    with ExitStack() as stack:
        url = stack.enter_context(throwaway_database(database))
        served, extra = url, {}
        if pgbouncer:
            served = stack.enter_context(running_pgbouncer(url)).url_for(url)
            extra = POOLER_SETTING
        with ThreadServer(served, "bench.calibration:create_app", "/json", extra) as ceiling:
            client = httpx.Client(base_url=ceiling.base_url, timeout=30)
            for _ in range(20):
                client.post("/insert", json={"note": "warm-up"}).raise_for_status()
            with counting("ceiling: one-row insert", requests, results, ceiling):
                for _ in range(requests):
                    client.post("/insert", json={"note": "calibration"}).raise_for_status()
            client.close()
        _measure_bookpay(url, requests, show, profile, results, served, extra)
    return results


def count_beside(direct_url: str, pooled_url: str, requests: int) -> dict[str, Any]:
    """In this process: Bookpay served on the migrated database `direct_url`, directly and
    then through the PgBouncer of `pooled_url`, each with a tenant of its own, `requests` of
    each kind (KINDS) counted per request: {"requests": n, "direct": {kind: counts},
    "pgbouncer": {kind: counts}}."""
    found: dict[str, Any] = {"requests": requests}
    ways: tuple[tuple[str, str, dict[str, str]], ...] = (
        ("direct", direct_url, {}),
        ("pgbouncer", pooled_url, POOLER_SETTING),
    )
    for number, (way, served, extra) in enumerate(ways):
        results: dict[str, dict[str, float]] = {}
        first = RUN_FIRST_BOOKING + number * (requests + 100)
        _measure_bookpay(
            direct_url, requests, False, None, results, served, extra, f"roundtrips-{way}", first
        )
        found[way] = results
    return found


def counted_beside(
    direct_url: str, pooled_url: str, requests: int = RUN_REQUESTS
) -> dict[str, Any] | None:
    """`count_beside` in a process of its own (its counters patch asyncpg and SQLAlchemy
    process-wide, and its server replaces the process's environment); None, logged, when
    it failed."""
    command = [str(BIN / "python"), "-m", "bench.roundtrips", "--json", "--requests"]
    command += [str(requests), "--beside", direct_url, pooled_url]
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - this venv's python, arguments built here
        command, capture_output=True, text=True, cwd=ROOT, env=inherited_env(), timeout=300
    )
    if completed.returncode != 0:
        log(f"  round trips not counted: {completed.stderr.strip().splitlines()[-1:]}")
        return None
    counted: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    took = time.perf_counter() - started
    log(f"  round trips counted directly and through PgBouncer in {took:.1f} s")
    return counted


def _measure_bookpay(
    url: str,
    requests: int,
    show: bool,
    profile: str | None,
    results: dict[str, dict[str, float]],
    served: str,
    extra: dict[str, str],
    slug: str = "bench-studio",
    first: int = 0,
) -> None:
    with ThreadServer(served, extra=extra) as server:
        tenant = set_up_tenant(server, slug)  # type: ignore[arg-type]
        pending = with_engine(
            url, lambda engine: seed_pending_bookings(engine, tenant, requests + 10, first)
        )
        client = httpx.Client(base_url=server.base_url, timeout=30)

        def checkout(n: int) -> None:
            response = client.post(
                f"/v1/public/{tenant.slug}/checkout",
                json={
                    "slot_id": tenant.slot_ids[n % len(tenant.slot_ids)],
                    "seats": 1,
                    "customer": {"email": f"c{n}@example.com", "name": "Bench Customer"},
                },
            )
            assert response.status_code == 201, response.text

        def webhook(payload: bytes) -> str:
            signature = sign(payload, WEBHOOK_SECRET, datetime.now(UTC))
            response = client.post(
                "/v1/webhooks/stripe",
                content=payload,
                headers={"content-type": "application/json", "stripe-signature": signature},
            )
            assert response.status_code == 200, response.text
            return str(response.json()["outcome"])

        # Warm the caches (statement compilation, prepared statements) first.
        for n in range(5):
            checkout(n)
        payloads = [_webhook(booking) for booking in pending]
        for payload in payloads[:5]:
            webhook(payload)

        server.profile(profile == "checkout")
        with counting("checkout", requests, results, server):
            for n in range(requests):
                checkout(1000 + n)
        server.profile(False)
        checkout_statements = list(STATEMENTS)
        server.profile(profile == "webhook")
        with counting("webhook, new event", requests, results, server):
            for payload in payloads[5 : 5 + requests]:
                assert webhook(payload) == "applied"
        server.profile(False)
        webhook_statements = list(STATEMENTS)
        with counting("webhook, duplicate", requests, results, server):
            for payload in payloads[5 : 5 + requests]:
                assert webhook(payload) == "duplicate"
        client.close()
    if show:
        per = len(checkout_statements) // requests
        print("one checkout:\n  " + "\n  ".join(checkout_statements[:per]))
        per = len(webhook_statements) // requests
        print("one webhook:\n  " + "\n  ".join(webhook_statements[:per]))
    if profile and server.profiler is not None:
        _print_profile(pstats.Stats(server.profiler), requests)


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for package in ("domain", "application", "adapters", "entrypoints", "bench"):
        if f"/{package}/" in filename:
            return f"bookpay: {package}"
    if filename.startswith("~") or filename.startswith("<"):
        return "built-ins"
    return "stdlib: " + filename.rsplit("/", 1)[-1]


def _print_profile(stats: pstats.Stats, requests: int) -> None:
    """Own CPU time (cProfile tottime, CPU clock) per package, and the top functions."""
    by_package: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_, _, tottime, _, _) in raw.items():
        by_package[_package(filename)] += tottime
        by_function[f"{name} ({filename.rsplit('/', 1)[-1]}:{line})"] += tottime
    total = sum(by_package.values())
    print(f"profile: {1000 * total / requests:.2f} ms of CPU per request (with cProfile's cost)")
    for package, seconds in by_package.most_common(16):
        print(f"  {100 * seconds / total:5.1f} %  {package}")
    for function, seconds in by_function.most_common(30):
        print(f"  {100 * seconds / total:5.1f} %  {function}")


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="bench.roundtrips", description=__doc__)
    parser.add_argument("--database", default="postgres", choices=["postgres", "sqlite"])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--show", action="store_true", help="print one request's statements")
    parser.add_argument(
        "--profile", choices=["checkout", "webhook"], help="print cProfile stats of one scenario"
    )
    parser.add_argument(
        "--pgbouncer", action="store_true", help="through PgBouncer, transaction pooling"
    )
    parser.add_argument(
        "--beside",
        nargs=2,
        metavar=("DIRECT_URL", "POOLED_URL"),
        help="count Bookpay only, on this migrated database, directly and through this pooler",
    )
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")
    args = parser.parse_args()
    _install_counters()
    if args.beside:
        direct, pooled = args.beside
        counted = count_beside(direct, pooled, args.requests)
        print(json.dumps(counted) if args.json else counted)
        sys.stdout.flush()
        return
    results = measure(args.database, args.requests, args.show, args.profile, args.pgbouncer)
    via = " via PgBouncer" if args.pgbouncer else ""
    print(f"per request ({args.database}{via}, averaged over {args.requests}):")
    ceiling = results["ceiling: one-row insert"]["cpu_ms"]
    for label, counts in results.items():
        figures = ", ".join(f"{k} {v:.1f}" for k, v in counts.items() if k != "cpu_ms")
        cpu = counts["cpu_ms"]
        print(
            f"  {label:24} {figures}; server CPU {cpu:.2f} ms"
            f" ({100 * ceiling / cpu:.0f} % of the insert ceiling's rate if CPU-bound)"
        )


if __name__ == "__main__":
    main()
