"""What a figure's requests waited on, from what bench/watch.py read beside its load: the
server's event loop and admission line (its health probes), PostgreSQL's sessions of the
run's database (pg_stat_activity) and PgBouncer's admin console (SHOW STATS, SHOW POOLS).

Each part is printed with how it was read; a time per request derived from an average by
Little's law is labelled an estimate.
"""

from __future__ import annotations

from typing import Any

from bench.server_phases import bound_words, counted_words

NOT_MEASURED = "what the requests waited on was not measured in this run"


def _answered(fig: dict[str, Any]) -> int:
    return max(int(fig.get("answered") or fig.get("requests") or 0), 1)


def _rate(fig: dict[str, Any]) -> float:
    """Requests per second over the watched time (warm-up included, as the watch is)."""
    side = fig.get("database") or {}
    wall = float(side.get("wall_seconds") or fig.get("wall_seconds") or 0.0)
    return _answered(fig) / wall if wall > 0 else float(fig.get("rps") or 0.0)


def request_time(fig: dict[str, Any]) -> str:
    """A request's time in all, from the closed loop (Little's law) and as measured."""
    connections = fig.get("connections")
    rps = float(fig.get("rps") or 0.0)
    mean = fig.get("mean_ms")
    parts = []
    if connections and rps > 0:
        parts.append(
            f"{1000 * int(connections) / rps:.0f} ms by Little's law ({connections} "
            f"connections at {rps:.0f} req/s)"
        )
    if mean is not None:
        parts.append(f"{float(mean):.0f} ms measured on average")
    return "a request took " + ", ".join(parts) if parts else ""


def worker_waits(ready: dict[str, Any], rate: float, workers: int = 1) -> str:
    """The event loop's lag and the admission line, from the server's health probes (with
    several workers, each probe answered by whichever worker took it: the line per worker,
    so the wait per request is the line of all of them, an estimate)."""
    line_ms = 1000 * workers * float(ready["mean_waiting"]) / max(rate, 1e-9)
    who = "the server's" if workers == 1 else f"one of the {workers} workers' (whichever took it)"
    return (
        f"{who} `/health/live` (it needs nothing but the event loop), probed "
        f"{ready['samples']} times, took {float(ready['live_mean_ms']):.1f} ms on average "
        f"(p50 {float(ready['live_p50_ms']):.1f} ms): the event loop's lag as a request "
        f"meets it; its `/health/ready` showed {float(ready['mean_in_flight']):.1f} "
        f"requests at work and {float(ready['mean_waiting']):.1f} waiting in the admission "
        f"line on average (at most {ready['most_waiting']}): ~{line_ms:.1f} ms per request "
        "in that line (an estimate by Little's law"
        + ("" if workers == 1 else f", that worker's line taken for each of the {workers}")
        + ")"
    )


def database_waits(activity: dict[str, Any], rate: float) -> str:
    """PostgreSQL's sessions of the run's database, sampled: working (running, or waiting on
    a lock, an LWLock, IO), and waiting on the app inside a transaction (idle in it, or
    active but waiting for the client's next message: wait event type Client)."""
    mean = activity.get("mean") or {}
    active = float(mean.get("active", 0.0))
    idle_tx = float(mean.get("idle in transaction", 0.0))
    by = activity.get("mean_active_by") or {}
    on_client = float(by.get("Client", 0.0))
    split = ", ".join(
        f"{value:.2f} {'running' if kind == 'running' else f'waiting on {kind}'}"
        for kind, value in sorted(by.items(), key=lambda item: -item[1])
    )
    per = 1000 / max(rate, 1e-9)
    return (
        f"PostgreSQL's sessions of this database, sampled {activity['samples']} times "
        f"(pg_stat_activity): on average {active:.2f} active"
        + (f" ({split})" if split else "")
        + f", {idle_tx:.2f} idle in a transaction and {float(mean.get('idle', 0.0)):.2f} "
        f"idle: ~{per * (active - on_client):.1f} ms per request working in PostgreSQL "
        "(active, not waiting on the client) and "
        f"~{per * (idle_tx + on_client):.1f} ms per request in which PostgreSQL waited on "
        "the app inside a transaction (idle in it, or active waiting on Client: for the "
        "app's next message) (estimates by Little's law)"
    )


def pooler_waits(pooler: dict[str, Any], answered: int) -> str:
    """PgBouncer's SHOW STATS deltas per transaction and per request, SHOW POOLS sampled."""
    count = max(int(pooler["transactions"]), 1)
    wait, xact, query = (
        float(pooler[k]) / count for k in ("wait_ms", "transaction_ms", "query_ms")
    )
    return (
        f"PgBouncer's SHOW STATS over the load: {pooler['transactions']:,} transactions "
        f"({pooler['transactions'] / answered:.1f} per request); per transaction, clients "
        f"waited {wait:.2f} ms for a server connection, the transaction lasted {xact:.2f} ms "
        f"on it, of which {query:.2f} ms in queries (the other {max(xact - query, 0.0):.2f} "
        "ms the server connection waited on the client between them); per request "
        f"{float(pooler['wait_ms']) / answered:.2f} ms waiting for a server connection; "
        f"SHOW POOLS, sampled {pooler['samples']} times: {float(pooler['mean_waiting']):.1f} "
        f"clients waiting for a server connection on average (at most "
        f"{pooler['most_waiting']}), {float(pooler['mean_active']):.1f} not waiting "
        f"(`cl_active`) and {float(pooler.get('mean_servers', 0.0)):.1f} server connections "
        "in use (`sv_active`)"
    )


def waited_on(fig: dict[str, Any]) -> str:
    """Where the time of `fig`'s requests went, from what was read beside its load;
    NOT_MEASURED when nothing was."""
    side = fig.get("database") or {}
    rate = _rate(fig)
    parts = []
    if side.get("readiness"):
        workers = max(len(fig.get("server_cpu_by_process") or []), 1)
        parts.append(worker_waits(side["readiness"], rate, workers))
    if side.get("activity"):
        parts.append(database_waits(side["activity"], rate))
    if side.get("pooler"):
        parts.append(pooler_waits(side["pooler"], _answered(fig)))
    if fig.get("phases") and "whole" in fig["phases"]:
        parts.append(counted_words(fig["phases"]))
    if not parts:
        return NOT_MEASURED
    total = request_time(fig)
    return "measured beside the load" + (f", {total}" if total else "") + ": " + "; ".join(parts)


def _pool_wait(phases: dict[str, Any] | None) -> str:
    """The wait for the pool's connection as the server counted it per request
    (bench/server_phases.py), or why it is an estimate."""
    if not phases or "connection_wait" not in phases or "whole" not in phases:
        return "the pool's wait is not measured: an estimate from the turn"
    wait, held = phases["connection_wait"], phases.get("unit_of_work")
    holding = (
        f", and {held['mean_ms']:.1f} ms holding it in its units of work (p99 "
        f"{bound_words(held['p99_ms'])})"
        if held
        else ""
    )
    return (
        f"measured per request by the server itself, {phases['requests']:,.0f} requests of "
        f"{phases['route']}, warm-up included: {wait['mean_ms']:.1f} ms on average waiting "
        f"for that connection (p99 {bound_words(wait['p99_ms'])}, a histogram bucket's bound)"
        f"{holding}, of {phases['whole']['mean_ms']:.1f} ms in the server"
    )


def one_connection(mine: dict[str, Any], cpu_bound: bool) -> str:
    """On SQLite with one worker, what its writer turn held with nobody waiting says: the
    turn is taken at BEGIN on the process's one pooled connection (adapters/sql/database.py:
    pool_size 1; every transaction takes it) and given back when that connection returns to
    the pool, so its held share is the share of the time that connection was in a
    transaction, for which the process's requests queue. `mine`: report_costs.per_request;
    `cpu_bound`: whether the worker's CPU bound the figure too."""
    share, held = 100 * float(mine["turn_share"]), float(mine["turn_ms"])
    return (
        f" SQLite's writer turn was held {share:.0f} % of the time ({held:.1f} ms per "
        f"request) with {float(mine['turn_waiting']):.2f} processes waiting for it: no other "
        "process queued for it, but the turn is taken at BEGIN on the process's one pooled "
        "connection and given back when that connection returns to the pool, so that "
        f"connection was in a transaction {share:.0f} % of the time while the worker used "
        f"{float(mine['per_worker']):.2f} of a core, and the worker's other requests queued "
        f"for it ({_pool_wait(mine.get('phases'))}). At "
        f"{held:.1f} ms per request the one connection serves at most ~{1000 / held:.0f} "
        "req/s (an estimate: held all the time)"
        + (
            ", a second bound beside the CPU: "
            if cpu_bound
            else ", so with neither CPU full the figure is bound by how long a request "
            "keeps that connection: "
        )
        + "its profile shows how much of that time SQLite ran (aiosqlite's thread running "
        "a statement) and how much the thread waited for its next statement."
    )
