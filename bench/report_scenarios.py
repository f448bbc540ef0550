"""The sections of docs/benchmarks.md for issue 19's scenarios: gateway latency, webhook
storm, PgBouncer, the workers' shares (growth: report_growth.py)."""

from __future__ import annotations

from typing import Any

from bench import report_costs as costs
from bench import report_pooler
from bench.configs import ConfigResult
from bench.report_sections import NAMES, Lines, _errors, _ms, _ratio, database
from bench.report_waits import waited_on
from bench.scenarios import SCARCE_SEATS, SCARCE_SLOTS, LatencyResult
from bench.storms import StormResult


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
    report_pooler.pooler_round_trips(out, pooled)


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
