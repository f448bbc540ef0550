"""The growth section of docs/benchmarks.md (issue 19, item 5): availability, checkout,
webhooks and the monthly statement at 1 thousand and 1 million bookings and ledger entries,
the statement's plan, and what its p99 follows, from the run's own figures."""

from __future__ import annotations

from typing import Any

from bench import report_costs as costs
from bench.growth import STATEMENT_QUERY_RUNS, GrowthResult
from bench.report_sections import Lines, _ms


def growth(out: Lines, g: GrowthResult) -> None:
    add = out.append
    add("## Growth: 1 thousand vs 1 million bookings and ledger entries\n")
    add(
        "PostgreSQL, 1 worker. Two databases, each with its own server, one holding "
        f"{g.small:,} bookings and {g.small_entries:,} ledger entries, the other {g.large:,} "
        f"bookings and {g.large_entries:,} ledger entries; the loads alternate between them "
        f"in {g.rounds} short rounds each (a warm-up before a scenario's first round only) "
        "and every figure is the median over the rounds. "
        "The history is written straight into the real tables inside PostgreSQL (`INSERT … "
        "SELECT generate_series`: past slots over 10 offerings, 20 bookings per slot, one "
        "in ten expired; a charge and an application fee per confirmed booking, dated at "
        f"the booking), then ANALYZE and CHECKPOINT: {g.seed_seconds:.0f} s for the large "
        "one. Webhook rounds send events not sent before (no duplicates); the statement is "
        f"the tenant's JSON statement for one month of the history ({g.statement_window}).\n"
    )
    add(
        f"| scenario | req/s @ {g.small:,} | p50 ms | p99 ms | req/s @ {g.large:,} | "
        "p50 ms | p99 ms | p99 ratio | p99 of each round (small / large) |"
    )
    add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for scenario in ("availability", "checkout", "webhooks", "statement"):
        a = g.figures[f"{scenario}_small"]
        b = g.figures[f"{scenario}_large"]
        each = " / ".join(", ".join(f"{v:.0f}" for v in fig["p99_each"]) for fig in (a, b))
        add(
            f"| {scenario} | {a['rps']:.0f} | {_ms(a['p50_ms'])} | {_ms(a['p99_ms'])} | "
            f"{b['rps']:.0f} | {_ms(b['p50_ms'])} | {_ms(b['p99_ms'])} | "
            f"{b['p99_ms'] / a['p99_ms']:.2f} × | {each} |"
        )
    add("\n" + statement_growth(g))
    add(
        "The statement's query on the large database (`EXPLAIN (ANALYZE, BUFFERS)`), run as "
        "the server runs it: as the application's role `bookpay_app` under row-level "
        "security, in the tenant's scope (the policies' filter shows in the plan):\n"
    )
    add("```")
    add(g.explain)
    add("```\n")


# A machine without idle cores whose busy cores were at least this share the statement's own
# (PostgreSQL's processes and the worker) was filled by the statement's load.
OWN_SHARE = 0.75


def statement_growth(g: GrowthResult) -> str:
    """Why the statement's p99 grows from the small database to the large, from the run's
    own figures: the entries in its window and its query's time one at a time at each size,
    the server's count of its phases under the load, PostgreSQL's CPU per statement, and
    whether the machine was full (then the time beyond the query is a wait for a core)."""
    small, large = g.figures.get("statement_small"), g.figures.get("statement_large")
    sizes = ("small", "large")
    if (
        small is None
        or large is None
        or not all(size in g.statement_entries for size in sizes)
        or not all(size in g.statement_query_ms for size in sizes)
        or not all("phases" in fig and "postgres_cores" in fig for fig in (small, large))
    ):
        return (
            "Why the statement's p99 grows: the entries in its window, its query's time one at "
            "a time and its phases under the load were not measured in this run.\n"
        )
    entries_s, entries_l = g.statement_entries["small"], g.statement_entries["large"]
    query_s, query_l = g.statement_query_ms["small"], g.statement_query_ms["large"]

    def phase(fig: dict[str, Any], name: str) -> float:
        return float(fig["phases"].get(name, {}).get("mean_ms", 0.0))

    def database_ms(fig: dict[str, Any]) -> float:
        return 1000 * float(fig["postgres_cores"]) / max(float(fig["rps"]), 1e-9)

    connections = int(large.get("connections") or 0)
    rps, idle = float(large["rps"]), float(large["idle"])
    little = 1000 * connections / max(rps, 1e-9)
    text = (
        f"**What the statement's p99 follows ({large['p99_ms'] / small['p99_ms']:.2f} × from "
        "the small database to the large).** Its "
        f"window holds {entries_s:,} ledger entries on the small database and {entries_l:,} "
        f"on the large ({entries_l / max(entries_s, 1):.1f} ×): the query reads and sums "
        "every one of them in PostgreSQL and returns one row per currency, kind and party, "
        "so the answer the server serialises does not grow. The query ran in "
        f"{query_s:.1f} ms and {query_l:.1f} ms one at a time ({query_l / query_s:.1f} ×; "
        f"EXPLAIN ANALYZE as the app's role, the median of {STATEMENT_QUERY_RUNS}): its cost "
        "follows the window's entries. Under the load's "
        f"{connections} connections the server counted per statement, at the large size, "
        f"{phase(large, 'whole'):.0f} ms in the server on average, "
        f"{phase(large, 'unit_of_work'):.0f} ms of them inside its unit of work (the query "
        f"on a held connection), {phase(large, 'connection_wait'):.1f} ms waiting for a "
        f"connection and {phase(large, 'rest'):.1f} ms the rest (its Python: the request "
        f"and the answer's JSON); at the small size {phase(small, 'whole'):.0f}, "
        f"{phase(small, 'unit_of_work'):.0f}, {phase(small, 'connection_wait'):.1f} and "
        f"{phase(small, 'rest'):.1f} ms. PostgreSQL's processes used "
        f"{float(large['postgres_cores']):.2f} cores at {rps:.0f} statements/s: "
        f"{database_ms(large):.1f} ms of PostgreSQL's CPU per statement (the worker "
        f"{float(large['worker_ms']):.1f} ms; at the small size {database_ms(small):.1f} and "
        f"{float(small['worker_ms']):.1f} ms), with {idle:.2f} idle cores: "
    )
    own = float(large["postgres_cores"]) + float(large["worker_ms"]) * rps / 1000
    busy = float(large.get("busy") or own)
    cpu_s = database_ms(small) + float(small["worker_ms"])
    cpu_l = database_ms(large) + float(large["worker_ms"])
    spent = (
        f"per statement PostgreSQL and the worker spent {cpu_s:.1f} ms of CPU at the small "
        f"size and {cpu_l:.1f} ms at the large ({cpu_l / max(cpu_s, 1e-9):.1f} ×). "
    )
    text += spent
    if idle >= costs.FULL_MACHINE:
        return text + (
            f"The machine was not full: {connections} statements in flight at {rps:.0f}/s "
            f"take {little:.0f} ms each by Little's law, {query_l:.1f} ms of them the query "
            "alone; the rest is not a wait for a core.\n"
        )
    others = (
        f" Other load took {busy - own:.2f} of the {busy:.2f} busy cores (PostgreSQL and "
        f"the worker below {100 * OWN_SHARE:.0f} % of them): on a quieter machine these "
        "statements get more cores and take less time each, while their CPU per statement, "
        "and so its growth, stays."
        if own < OWN_SHARE * busy
        else ""
    )
    return text + (
        f"The machine was full, PostgreSQL and the worker on {own:.2f} of its cores: "
        f"{connections} statements in flight sharing them take {connections} × "
        f"{cpu_l:.1f} ms / {own:.2f} cores ≈ {little:.0f} ms each (Little's law: "
        f"{connections} in flight at {rps:.0f}/s), of which the query alone is "
        f"{query_l:.1f} ms: for the rest each statement waits for a core behind the other "
        "statements' queries, so its time grows with the CPU a statement costs, which "
        "follows the window's entries; the plan reads the window through the index "
        "(below), not the table." + others + "\n"
    )
