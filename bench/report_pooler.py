"""What a request asks of PostgreSQL through PgBouncer against directly, as
bench/roundtrips.py counted it in this run (ConfigResult.round_trips): the table of the
PgBouncer section and the words the costs sections explain the pooler's miss with."""

from __future__ import annotations

from typing import Any

from bench.configs import ConfigResult
from bench.report_sections import Lines

# The requests bench/roundtrips.py counts for each scenario of the costs sections.
COUNTED_KINDS = {
    "checkout": (("checkout", ""),),
    "webhooks": (
        ("webhook, new event", " per new event"),
        ("webhook, duplicate", " per duplicate"),
    ),
}


def prepares_words(counted: dict[str, Any] | None, key: str) -> str:
    """The prepares and round trips per request of scenario `key` through PgBouncer against
    those served directly, as bench/roundtrips.py counted them in this run (`counted`:
    ConfigResult.round_trips), or that they were not counted."""
    kinds = COUNTED_KINDS.get(key, ())
    if not counted or not all(kind in counted["pgbouncer"] for kind, _ in kinds):
        return (
            "not counted in this run (`python -m bench.roundtrips --pgbouncer` counts the "
            "prepares and round trips per request against those served directly)"
        )
    pooled, direct = counted["pgbouncer"], counted["direct"]
    through = ", ".join(
        f"{pooled[kind]['prepares']:.1f} prepares and {pooled[kind]['round_trips']:.1f} round "
        f"trips{per}"
        if number == 0
        else f"{pooled[kind]['prepares']:.1f} and {pooled[kind]['round_trips']:.1f}{per}"
        for number, (kind, per) in enumerate(kinds)
    )
    straight = ", ".join(
        f"{direct[kind]['prepares']:.1f} and {direct[kind]['round_trips']:.1f}{per}"
        for kind, per in kinds
    )
    return (
        f"counted in this run, one request at a time: {through} through PgBouncer, against "
        f"{straight} served directly (`bench.roundtrips`, {counted['requests']} requests of "
        "each kind)"
    )


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
