"""The sections of docs/benchmarks.md for issue 19's scenarios: gateway latency, webhook
storm, PgBouncer, the workers' shares, growth with the statement's plan."""

from __future__ import annotations

from typing import Any

from bench import report_costs as costs
from bench.configs import ConfigResult
from bench.growth import STATEMENT_QUERY_RUNS, GrowthResult
from bench.report_sections import NAMES, Lines, _errors, _ms, _ratio, database
from bench.report_waits import waited_on
from bench.scenarios import SCARCE_SEATS, SCARCE_SLOTS, LatencyResult, StormResult


def _row(label: str, fig: dict[str, Any], ratio: str) -> str:
    return (
        f"| {label} | {fig['rps']:.0f} | {_ms(fig['p50_ms'])} | {_ms(fig['p99_ms'])} | "
        f"{_errors(fig)} | {ratio} |"
    )


def _on_connections(fig: dict[str, Any] | None, joint: str = " (") -> str:
    """' (N connections)' or ', N connections' from a figure's own load settings
    (bench/load.py records them), or nothing when the figure predates that."""
    connections = (fig or {}).get("connections")
    if not connections:
        return ""
    return f" ({connections} connections)" if joint == " (" else f", {connections} connections"


def latency(out: Lines, result: LatencyResult, direct: ConfigResult | None) -> None:
    add = out.append
    add("## Checkout with Stripe's latency\n")
    add(
        f"PostgreSQL, 1 worker, the default pool ({result.pool} connections). The fake "
        "gateway waits a "
        f"log-normal delay with p50 {result.p50_ms} ms and p99 {result.p99_ms} ms "
        f"(`BOOKPAY_FAKE_STRIPE_LATENCY_MS={result.p50_ms},{result.p99_ms}`) before each "
        f"session it creates; {result.customers} and then {result.customers // 2} customers "
        "check out at once (one connection each, closed loop). The ratio is to the "
        "zero-latency checkout of the PostgreSQL 1-worker configuration above"
        f"{_on_connections(direct.figures.get('checkout') if direct else None)}. Then the "
        "same customers race for the last seats of another offering "
        f"({SCARCE_SLOTS} slots of {SCARCE_SEATS} seats): answers 201 or 409; every seat "
        "must sell and none twice (the bookings in the database hold or own exactly the "
        "seats offered), and every slot's counters must match its bookings.\n"
    )
    reference = direct.figures["checkout"]["rps"] if direct else 0.0
    add("| load | req/s | p50 ms | p99 ms | errors | vs zero-latency checkout |")
    add("| --- | ---: | ---: | ---: | ---: | ---: |")
    if direct is not None:
        reference_fig = direct.figures["checkout"]
        add(_row(f"zero latency{_on_connections(reference_fig, ',')}", reference_fig, "—"))
    for key, label in (
        ("full", f"{result.customers} customers"),
        ("half", f"{result.customers // 2} customers"),
    ):
        add(_row(label, result.figures[key], _ratio(result.figures[key]["rps"], reference)))
    race = result.figures["race"]
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(race.get("statuses", {}).items()))
    add(_row(f"race for the last seats ({statuses})", race, "—"))
    taken, offered = result.seats
    add(
        f"\nLast seats: {result.started} checkouts started, {taken} seats held or booked by "
        f"bookings of {offered} offered.\n"
    )
    _inside_the_fake(out, result)


def _inside_the_fake(out: Lines, result: LatencyResult) -> None:
    """Each figure's calls to the fake Stripe split by the fake's own timings."""
    split = {key: result.per_call(key) for key in ("full", "half")}
    if not any(split.values()):
        out.append("The fake Stripe's own timings were not read in this run.\n")
        return
    out.append(
        "Inside the fake Stripe's calls, timed by the fake itself (adapters/fake_stripe/"
        "timings.py, read from `GET /fake-stripe/timings` before and after each figure, its "
        f"warm-up included; its own pool: {result.fake_pool} connections, "
        "`BOOKPAY_FAKE_STRIPE_POOL_SIZE`): per call, the delay injected, the wait for a "
        "connection of the fake's pool, the time its connections were held (its statements "
        "and their answers, the commit), and the rest (its own Python and its waits for the "
        "event loop, which it shares with Bookpay's requests). Real Stripe costs Bookpay no "
        "pool wait and no statement: those milliseconds are the stand-in's.\n"
    )
    out.append(
        "| load | calls | ms per call | injected delay | waiting for the fake's pool | "
        "the fake's statements | the rest | connections per call |"
    )
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, label in (
        ("full", f"{result.customers} customers"),
        ("half", f"{result.customers // 2} customers"),
    ):
        each = split[key]
        if each is None:
            continue
        out.append(
            f"| {label} | {each['calls']:,.0f} | {each['call']:.0f} | {each['injected']:.0f} | "
            f"{each['pool_wait']:.1f} | {each['holding']:.1f} | {each['rest']:.1f} | "
            f"{each['connections_per_call']:.1f} |"
        )
    out.append("")


def storm(out: Lines, result: StormResult, direct: ConfigResult | None) -> None:
    add = out.append
    add("## Webhook storm\n")
    fig = result.figure
    insert = direct.figures["ceiling_insert"]["rps"] if direct else 0.0
    workers = f"{result.workers} worker{'s' if result.workers != 1 else ''}"
    add(
        f"PostgreSQL, {workers} (one per core, as a deployment on this machine runs; "
        "duplicates of an event then reach both processes at once): "
        f"{result.events:,} pending bookings, one signed "
        "`checkout.session.completed` each, plus re-sends of already sent events (20 % of "
        f"all requests), on {result.connections} connections until every event is in; "
        "applied in the request (the answer 200 means committed, a failure answers 5xx so "
        "that Stripe retries). The ratio is to the one-row insert ceiling of the PostgreSQL "
        f"{result.workers}-worker configuration above.\n"
    )
    add("| requests | duplicates | seconds | req/s | p50 ms | p99 ms | errors | vs ceiling |")
    add("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    add(
        f"| {fig['requests']:,} | {fig.get('duplicates_sent', 0):,} | {fig['seconds']:.1f} | "
        f"{fig['rps']:.0f} | {_ms(fig['p50_ms'])} | {_ms(fig['p99_ms'])} | {_errors(fig)} | "
        f"{_ratio(fig['rps'], insert)} |"
    )
    if "server_cpu_share" in fig:
        add("\n" + costs.bound_by("What bound the storm, from its own figures", fig, "request"))
        if direct is not None and "webhooks" in direct.figures:
            mix = costs.per_request(direct.figures["webhooks"])["worker_ms"] or 0.0
            add(
                f"The webhooks figure of that configuration"
                f"{_on_connections(direct.figures['webhooks'])} cost the workers "
                f"{mix:.1f} ms per request; with {result.connections} connections on "
                f"{workers}, a request waits on average "
                f"{1000 * result.connections / max(fig['rps'], 1e-9):.0f} ms "
                "in all (Little's law).\n"
            )
        add(f"Where the storm's requests waited: {waited_on(fig)}.\n")
    if result.redelivered:
        add(
            "\nEvents answered 5xx (not applied) were sent again afterwards, as Stripe "
            "redelivers, on 8 connections: "
            + ", then ".join(f"{n:,}" for n in result.redelivered)
            + ". Their 5xx answers are counted as errors above and fail the run's checks.\n"
        )
    check = result.check
    if check is not None:
        add(
            f"\nIn the database: {check.confirmed:,} confirmed, {check.charge_entries:,} charge "
            f"entries for {check.bookings_with_a_charge:,} bookings, {check.inbox_records:,} "
            f"inbox rows, {check.seats_booked:,} seats booked, "
            f"{check.confirmation_events:,} `booking.confirmed` events out for "
            f"{check.bookings_with_a_confirmation_event:,} bookings, {check.still_pending:,} "
            f"left pending: exactly once **{'yes' if check.exactly_once else 'NO'}**.\n"
        )


def pgbouncer(out: Lines, configs: list[ConfigResult]) -> None:
    pooled = [c for c in configs if c.pgbouncer]
    if not pooled:
        return
    add = out.append
    add("## Through PgBouncer\n")
    add(
        "Debian's PgBouncer in transaction pooling mode (tools/pgbouncer.py: 20 server "
        "connections, `connect_query` setting the timeouts), started on a free port in front "
        "of the same PostgreSQL; calibration app and Bookpay with "
        "`BOOKPAY_DB_TRANSACTION_POOLER=true`. Ratios to the one-row insert ceiling measured "
        "directly (same workers) and to the same ceiling through PgBouncer.\n"
    )
    add(
        "| workers | scenario | req/s | p50 ms | p99 ms | errors | direct req/s "
        "| vs direct ceiling | vs ceiling through PgBouncer |"
    )
    add("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for config in pooled:
        direct = next(
            (
                c
                for c in configs
                if not c.pgbouncer
                and not c.nodelay
                and (c.database, c.workers) == ("postgres", config.workers)
            ),
            None,
        )
        direct_ceiling = direct.figures["ceiling_insert"]["rps"] if direct else 0.0
        own = config.figures["ceiling_insert"]["rps"]
        for key in ("ceiling_insert", "checkout", "webhooks"):
            fig = config.figures[key]
            straight = direct.figures[key]["rps"] if direct else 0.0
            add(
                f"| {config.label} | {NAMES[key][0]} | {fig['rps']:.0f} | {_ms(fig['p50_ms'])} | "
                f"{_ms(fig['p99_ms'])} | {_errors(fig)} | {straight:.0f} | "
                f"{_ratio(fig['rps'], direct_ceiling)} | {_ratio(fig['rps'], own)} |"
            )
    add("")
    pooler_round_trips(out, pooled)


def pooler_round_trips(out: Lines, pooled: list[ConfigResult]) -> None:
    """What a request asks of PostgreSQL directly and through PgBouncer, as
    bench/roundtrips.py counted it in this run (ConfigResult.round_trips)."""
    add = out.append
    counted = [c for c in pooled if c.round_trips]
    if not counted:
        add(
            "Prepares and round trips per request were not counted in this run "
            "(`python -m bench.roundtrips --pgbouncer` counts them).\n"
        )
        return
    requests = counted[0].round_trips["requests"] if counted[0].round_trips else 0
    add(
        "What each request asked of PostgreSQL, counted in this run right after the figures "
        f"above (`bench.roundtrips` on the same database: {requests} requests of each kind, "
        "one at a time, served in-process directly and then through the same PgBouncer with "
        "`BOOKPAY_DB_TRANSACTION_POOLER=true`; exact counts: SQLAlchemy's statements, "
        "asyncpg's PREPAREs and its message exchanges with the server). Behind a "
        "transaction pooler no statement cache survives, so every statement is prepared "
        "again at each execution, a round trip more each, and single writes get their own "
        "BEGIN and COMMIT:\n"
    )
    add(
        "| workers | request | statements (direct / via PgBouncer) | prepares | round trips "
        "| round trips added |"
    )
    add("| --- | --- | ---: | ---: | ---: | ---: |")
    for config in counted:
        found = config.round_trips or {}
        for kind, straight in found["direct"].items():
            through = found["pgbouncer"].get(kind)
            if through is None:
                continue
            add(
                f"| {config.label} | {kind} | {straight['statements']:.1f} / "
                f"{through['statements']:.1f} | {straight['prepares']:.1f} / "
                f"{through['prepares']:.1f} | {straight['round_trips']:.1f} / "
                f"{through['round_trips']:.1f} | "
                f"{through['round_trips'] - straight['round_trips']:+.1f} |"
            )
    add("")


WORKER_SHARE_TITLE = "How the load spreads over the workers"


def worker_share(out: Lines, configs: list[ConfigResult]) -> None:
    several = [c for c in configs if c.workers > 1]
    if not several:
        return
    add = out.append
    add(f"## {WORKER_SHARE_TITLE}\n")
    add(
        "Each worker's share of the CPU the server's processes used during the figure (read "
        "from /proc; the supervisor's own share left out). The requests are alike within a "
        "figure, so the CPU share stands for the share of requests each worker served; an "
        'even spread is 50 % / 50 %. The target "spread over both workers" (issue 19, '
        "SQLite with 2 workers) is met when each worker's share is within 35–65 % in both "
        "checkout and webhooks.\n"
    )
    add("| database | workers | scenario | share per worker |")
    add("| --- | --- | --- | --- |")
    for config in several:
        for key, (label, _) in NAMES.items():
            fig = config.figures.get(key)
            if fig is None or key.startswith("ceiling_json"):
                continue
            used = [float(v) for v in fig["server_cpu_by_process"]]
            workers = sorted(used, reverse=True)[: config.workers]
            total = sum(workers) or 1.0
            shares = " / ".join(f"{100 * v / total:.0f} %" for v in workers)
            add(f"| {database(config)} | {config.label} | {label} | {shares} |")
    add("")


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
