"""The sections of docs/benchmarks.md that explain each configuration's misses from its own
figures of the same run: what a request cost the worker, the database and the pooler,
against the ceiling's; whether the machine had cores left; on SQLite, the writer's turn;
a figure's own verdict (bound_by); when neither CPU bound it, what its requests waited on
(report_waits). Under Stripe's latency, where a checkout's time went:
report_latency; the storm's apply share: report_storm.
"""

from __future__ import annotations

from typing import Any

from bench import report_pooler
from bench.configs import ConfigResult
from bench.report_sections import NAMES, Lines, anchor
from bench.report_waits import one_connection, waited_on

# A worker at this share of a core or more is taken as saturated (a worker serving the bare
# JSON ceiling, which is bound by nothing else, reaches 0.95-0.98), and a machine with fewer
# idle cores than this as full.
SATURATED_WORKER = 0.9
FULL_MACHINE = 0.15
# Below that, a worker this close to a full core while the machine had about a core idle is
# still CPU-bound by that one process (its event loop's gaps between turns are the rest);
# and SQLite's writer turn queues requests only when processes wait for it: on average at
# least this many (one worker never waits for itself: its turn is its own writes).
NEAR_FULL_WORKER = 0.85
SPARE_CORE = 0.75
TURN_QUEUE = 0.25


def _bound(worker_cores: float, idle_cores: float) -> str | None:
    """What bound a figure: "worker" (its busiest worker at SATURATED_WORKER of a core or
    more), "machine" (fewer than FULL_MACHINE idle cores), or None (neither was full).
    Judged on the figures as the report prints them (two decimals), so that its words
    agree with the numbers shown beside them."""
    worker_cores, idle_cores = round(worker_cores, 2), round(idle_cores, 2)
    if worker_cores >= SATURATED_WORKER:
        return "worker"
    if idle_cores < FULL_MACHINE:
        return "machine"
    return None


# A ceiling or reference measured with the server starved: its workers below these shares
# of a core on average while the machine had fewer than FULL_MACHINE idle cores (other load
# took the cores: a ratio to it reads higher than the same tree earns on an idle machine).
# From the idle run of 10:48 UTC (docs/benchmarks.md): one worker alone got 0.91-0.98 of a
# core at its ceilings; two workers, with the machine full, 0.55-0.70 each (0.63 on
# average). A busy run's starved ceiling got 0.33 each on two workers with 0.00 idle cores,
# and its one-worker reference 0.50.
STARVED_ONE_WORKER = 0.75
STARVED_PER_WORKER = 0.45


def starved(fig: dict[str, Any]) -> str | None:
    """The figures showing that `fig` was measured with the server starved, or None."""
    used = [float(v) for v in fig.get("server_cpu_by_process", [])]
    if not used or "machine" not in fig:
        return None
    idle = float(fig["machine"]["idle"])
    limit = STARVED_ONE_WORKER if len(used) == 1 else STARVED_PER_WORKER
    if idle >= FULL_MACHINE or sum(used) / len(used) >= limit:
        return None
    each = " and ".join(f"{v:.2f}" for v in used)
    return (
        f"{float(fig.get('rps') or 0.0):.0f} req/s with its worker"
        f"{'s' if len(used) != 1 else ''} at {each} of a core (below {limit:.2f} each on "
        f"average) and {idle:.2f} idle cores (below {FULL_MACHINE:.2f})"
    )


# A scenario figure measured with the server starved by something else: starved as above,
# and at least this many cores busy outside the server, the run's own database (its
# backends, PgBouncer) and the load generator. A figure whose machine was filled by its own
# load (a worker, PostgreSQL and many customers' load generator) is not starved: it is
# bound by the machine, which its costs section says.
OTHER_LOAD = 0.3


def others_cores(fig: dict[str, Any]) -> float | None:
    """Cores busy during `fig` in processes other than the server's, the run's own database
    side and the load generator's; None when the figure lacks the readings."""
    wall = float(fig.get("wall_seconds") or 0.0)
    machine = fig.get("machine") or {}
    if wall <= 0 or "busy" not in machine or "server_cpu_share" not in fig:
        return None
    side = fig.get("database")
    own = float(fig.get("postgres_cpu_share") or 0.0)
    if side:
        spent = float(side.get("database_cpu_seconds") or 0.0)
        own = (spent + float(side.get("pooler_cpu_seconds") or 0.0)) / wall
    return (
        float(machine["busy"])
        - float(fig["server_cpu_share"])
        - own
        - float(fig.get("client_cpu_share") or 0.0)
    )


def starved_figure(fig: dict[str, Any]) -> str | None:
    """The figures showing that a scenario's own figure was measured with the server
    starved by other load (starved, and OTHER_LOAD cores or more busy elsewhere), or None."""
    why = starved(fig)
    others = others_cores(fig)
    if why is None or others is None or others < OTHER_LOAD:
        return None
    return (
        f"{why}, while {others:.2f} cores (at least {OTHER_LOAD:.2f}) were busy outside the "
        "server, this run's database and the load generator"
    )


# The spread target (issue 19, item 6): each worker serves 35-65 % of the server's CPU.
SPREAD = (0.35, 0.65)
SPREAD_SCENARIOS = ("checkout", "webhooks")


def costs_title(config: ConfigResult) -> str:
    return f"Costs per request: {config.where}"


def per_request(fig: dict[str, Any]) -> dict[str, Any]:
    """CPU milliseconds per answered request (warm-up included, as the CPU is), and what
    the database side did per request."""
    answered = max(int(fig.get("answered") or fig.get("requests") or 0), 1)
    side = fig.get("database") or {}
    turn = side.get("writer_turn")
    wall = float(fig.get("wall_seconds") or side.get("wall_seconds") or 0.0)
    found: dict[str, Any] = {
        "worker_ms": 1000 * float(fig.get("server_cpu_seconds", 0.0)) / answered,
        "database_ms": (
            1000 * float(side["database_cpu_seconds"]) / answered if side.get("backends") else None
        ),
        "pooler_ms": (
            1000 * float(side["pooler_cpu_seconds"]) / answered
            if side.get("pooler_cpu_seconds")
            else None
        ),
        "turn_share": float(turn["held_share"]) if turn else None,
        "turn_ms": 1000 * float(turn["held_share"]) * wall / answered if turn else None,
        "turn_waiting": float(turn["mean_waiting"]) if turn else None,
        "idle": float(fig["machine"]["idle"]),
        "per_worker": max((float(v) for v in fig.get("server_cpu_by_process", [])), default=0.0),
        "phases": fig.get("phases"),
    }
    return found


def _opt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def costs(out: Lines, configs: list[ConfigResult]) -> None:
    add = out.append
    add("## Why each configuration misses: costs per request\n")
    add(
        "From the same figures as the throughput table, per answered request (warm-up "
        "included, as the CPU is): the worker processes' CPU, the CPU of PostgreSQL's "
        "backends connected to this configuration's own database (other databases on the "
        "server left out; background writers not counted) and PgBouncer's own process. "
        "(Transactions per request are left out: PostgreSQL flushes its counters about "
        "once a second, too coarse for a figure of a few seconds; `python -m bench.roundtrips` "
        "counts statements and round trips exactly, one request at a time.) On SQLite, "
        "the writer's "
        "turn (the `-writer.lock` every process takes before `BEGIN IMMEDIATE`, "
        "adapters/sql/sqlite_writers.py), sampled from /proc/locks every 5 ms: the share "
        "of the time some process held it, its milliseconds per request, and how many "
        "waited for it on average. Idle: the machine's idle cores (2 in all). When both "
        "a scenario and its ceiling are bound by the same CPU, their throughput ratio is "
        "about the inverse of their cost ratio.\n"
    )
    for config in configs:
        add(f"### {costs_title(config)}\n")
        add(
            "| scenario | req/s | worker CPU ms | database CPU ms | PgBouncer CPU ms "
            "| writer turn held (ms) | waiting for it | busiest worker (cores) | idle cores |"
        )
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for key, (label, _) in {
            **NAMES,
            "webhooks_duplicates": ("webhooks, duplicates only", None),
        }.items():
            fig = config.figures.get(key)
            if fig is None:
                continue
            cost = per_request(fig)
            turn = (
                "—"
                if cost["turn_share"] is None
                else f"{100 * cost['turn_share']:.0f} % ({cost['turn_ms']:.1f})"
            )
            add(
                f"| {label} | {fig['rps']:.0f} | {cost['worker_ms']:.2f} | "
                f"{_opt(cost['database_ms'])} | {_opt(cost['pooler_ms'])} | "
                f"{turn} | {_opt(cost['turn_waiting'])} | "
                f"{cost['per_worker']:.2f} | {cost['idle']:.2f} |"
            )
        add("")
        for key in ("checkout", "webhooks", "availability", "book_page"):
            if key in config.figures:
                add(f"- {explain(config, key, _direct(config, configs))}")
        add("")


def _direct(config: ConfigResult, configs: list[ConfigResult]) -> ConfigResult | None:
    """The same database and workers without PgBouncer, for a configuration through it."""
    if not config.pgbouncer:
        return None
    return next(
        (
            c
            for c in configs
            if not c.pgbouncer
            and not c.nodelay
            and (c.database, c.workers) == (config.database, config.workers)
        ),
        None,
    )


def explain(config: ConfigResult, key: str, direct: ConfigResult | None = None) -> str:
    """What the figures of this configuration say about one scenario's ratio; through
    PgBouncer, also against the same scenario served directly (`direct`)."""
    ceiling_key = NAMES[key][1] or "ceiling_insert"
    fig, ceiling = config.figures[key], config.figures[ceiling_key]
    mine, base = per_request(fig), per_request(ceiling)
    label = NAMES[key][0].split(" (")[0]
    worker_ratio = mine["worker_ms"] / max(base["worker_ms"] or 0.0, 1e-9)
    parts = [
        f"**{label}** ({100 * fig['rps'] / max(ceiling['rps'], 1e-9):.0f} % of "
        f"{NAMES[ceiling_key][0]}): the worker spent {mine['worker_ms']:.2f} ms of CPU per "
        f"request against {base['worker_ms']:.2f} ms for the ceiling ({worker_ratio:.1f} ×)"
    ]
    if mine["database_ms"] is not None and base["database_ms"] is not None:
        parts.append(
            f"PostgreSQL's backends {mine['database_ms']:.2f} ms against "
            f"{base['database_ms']:.2f} ms"
        )
    if mine["turn_share"] is not None and base["turn_share"] is not None:
        parts.append(
            f"SQLite's writer turn held {mine['turn_ms']:.1f} ms per request "
            f"({100 * mine['turn_share']:.0f} % of the time, {mine['turn_waiting']:.2f} "
            f"waiting) against {base['turn_ms']:.1f} ms"
        )
    if mine["pooler_ms"] is not None:
        parts.append(f"PgBouncer {mine['pooler_ms']:.2f} ms against {_opt(base['pooler_ms'])} ms")
    if direct is not None and key in direct.figures:
        straight = per_request(direct.figures[key])
        parts.append(
            f"served directly (no PgBouncer) the same {label} cost the worker "
            f"{straight['worker_ms']:.2f} ms and PostgreSQL's backends "
            f"{_opt(straight['database_ms'])} ms: the difference is the pooler's hop and "
            "every statement prepared again at each execution (no statement cache behind "
            f"a transaction pooler: {report_pooler.prepares_words(config.round_trips, key)})"
        )
    text = "; ".join(parts) + ". "
    return text + _verdict(config, mine, fig)


def _verdict(config: ConfigResult, mine: dict[str, Any], fig: dict[str, Any]) -> str:
    """What bound one figure, from its own readings: a saturated worker, a full machine,
    a worker at NEAR_FULL_WORKER of a core or more (CPU-bound by that process: beside
    SPARE_CORE idle cores, alone; with fewer, sharing a machine without a core to spare),
    the queue for SQLite's writer turn (only when processes waited for it), or something
    else. Judged on the readings as printed (two decimals)."""
    per_worker, idle = round(mine["per_worker"], 2), round(mine["idle"], 2)
    turn_share, waiting = mine["turn_share"], mine["turn_waiting"]
    bound = _bound(per_worker, idle)
    near_full = per_worker >= NEAR_FULL_WORKER and idle >= SPARE_CORE
    unqueued = (
        (
            one_connection(mine, bound == "worker" or near_full)
            if config.workers == 1
            else f" SQLite's writer turn was held {100 * turn_share:.0f} % of the time, but "
            f"{waiting:.2f} processes waited for it on average: that is the worker's own "
            "writes, inside its CPU time, not a queue for SQLite's writer."
        )
        if turn_share is not None and turn_share >= 0.5 and (waiting or 0.0) < TURN_QUEUE
        else ""
    )
    if bound == "worker":
        return (
            f"The busiest worker ran at {per_worker:.2f} of a core: bound by its own CPU, so "
            "the ratio follows the worker's cost per request." + unqueued
        )
    if bound == "machine":
        return (
            f"The machine had {idle:.2f} idle cores: workers, "
            f"{'PostgreSQL, ' if config.database == 'postgres' else ''}the load generator "
            "(and whatever else ran) shared its 2 cores, so the ratio follows the whole "
            "cost per request."
        )
    if near_full:
        return (
            f"The busiest worker ran at {per_worker:.2f} of a core while the machine had "
            f"{idle:.2f} idle cores: at {NEAR_FULL_WORKER:.2f} of a core or more with "
            f"{SPARE_CORE:.2f} idle cores or more to spare, the figure is bound by that one "
            "process's CPU, so the ratio follows the worker's cost per request." + unqueued
        )
    if per_worker >= NEAR_FULL_WORKER:
        return (
            f"The busiest worker ran at {per_worker:.2f} of a core ({NEAR_FULL_WORKER:.2f} or "
            f"more: near full, below the {SATURATED_WORKER:.2f} taken as saturated)"
            f"{_all_workers(fig)} while the machine had {idle:.2f} idle cores (below "
            f"{SPARE_CORE:.2f}: less than a core to spare, though not below the "
            f"{FULL_MACHINE:.2f} taken as full): bound by CPU, a worker near full on a machine "
            "with less than a core to spare, so the ratio follows the cost per request." + unqueued
        )
    machine = _machine_words(idle)
    if turn_share is not None and turn_share >= 0.5 and not unqueued:
        return (
            f"Neither the workers ({per_worker:.2f} of a core at most, below "
            f"{NEAR_FULL_WORKER:.2f}) nor the machine ({machine}) were full: the writer's "
            f"turn was held {100 * turn_share:.0f} % of the time ({mine['turn_ms']:.1f} ms "
            f"per request) with {waiting:.2f} processes waiting for it on average, so the "
            "requests queued for SQLite's one writer."
        )
    # With one worker, the turn's sentence (one_connection) says what bound the figure.
    turn = (
        ""
        if turn_share is None or (unqueued and config.workers == 1)
        else " nor SQLite's writer turn"
    )
    return (
        f"Neither the workers ({per_worker:.2f} of a core at most, below "
        f"{NEAR_FULL_WORKER:.2f}) nor the machine ({machine}) were full: by "
        f"these figures neither the CPU{turn} bound it; {waited_on(fig)}." + unqueued
    )


def _machine_words(idle: float) -> str:
    """A machine that is not full (FULL_MACHINE idle cores or more), by the same idle-core
    line as a worker's spare core: below SPARE_CORE it has less than a core to spare."""
    if idle < SPARE_CORE:
        return (
            f"{idle:.2f} idle cores: not below the {FULL_MACHINE:.2f} taken as full, but "
            f"below {SPARE_CORE:.2f}, less than a core to spare"
        )
    return f"{idle:.2f} idle cores, {SPARE_CORE:.2f} or more: a core to spare"


def _all_workers(fig: dict[str, Any]) -> str:
    """With several workers, the cores they used in all (none for one)."""
    used = [float(v) for v in fig.get("server_cpu_by_process", [])]
    if len(used) < 2:
        return ""
    return f", the {len(used)} workers {sum(used):.2f} cores in all,"


def spread_shares(config: ConfigResult, key: str) -> list[float]:
    """Each worker's share of the CPU its workers used during one figure, largest first."""
    fig = config.figures.get(key)
    if fig is None:
        return []
    used = sorted((float(v) for v in fig["server_cpu_by_process"]), reverse=True)
    workers = used[: config.workers]
    total = sum(workers) or 1.0
    return [v / total for v in workers]


def bound_by(what: str, fig: dict[str, Any], unit: str) -> str:
    """One sentence from a figure's own CPU readings: the worker's CPU per `unit`, its
    share of a core, the machine's idle cores, and which of them bound the figure."""
    worker_ms = per_request(fig)["worker_ms"] or 0.0
    total = float(fig["server_cpu_share"])
    # The busiest worker decides whether a worker was saturated.
    server = max((float(v) for v in fig.get("server_cpu_by_process", [])), default=total)
    idle = float(fig["machine"]["idle"])
    verdict = {
        "worker": "the worker was saturated: the figure follows its CPU per request, and "
        "the latency beyond it is the wait for the worker",
        "machine": "the machine was full: the figure follows the whole cost per request",
        None: "neither the worker nor the machine was full",
    }[_bound(server, idle)]
    workers = len(fig.get("server_cpu_by_process", [])) or 1
    spent = (
        f"the worker spent {worker_ms:.1f} ms of CPU per {unit} and used {server:.2f} of a core"
        if workers == 1
        else f"the {workers} workers spent {worker_ms:.1f} ms of CPU per {unit} and used "
        f"{total:.2f} cores in all, the busiest {server:.2f}"
    )
    return (
        f"{what}: {spent}; PostgreSQL (all its processes) {float(fig['postgres_cpu_share']):.2f} "
        f"of a core; the machine had {idle:.2f} idle cores: {verdict}."
    )


def costs_link(config: ConfigResult) -> str:
    title = costs_title(config)
    return f"[{title}]({anchor(title)})"
