"""The storms in queue mode (BOOKPAY_WEBHOOK_MODE=queue, bench/storms.py) beside the same
storms applied in the request: acknowledgements, the drain, the pool's pressure, and under
Stripe's latency the answer's p99 against the webhook timeout and the worker's gateway calls
against Stripe's rate limits; and the conclusion the two modes' figures support. Pure
functions of the run's figures."""

from __future__ import annotations

from bench.configs import ConfigResult
from bench.report_sections import Lines, _errors, _ms, anchor
from bench.report_storm_latency import storm_rates
from bench.storms import DEFAULT_QUEUE_RATE, StormResult
from bench.stripe_limits import QUOTED_TIMEOUT_MS, RATE_LIMITS

QUEUE_STORM_TITLE = "Webhook storm in queue mode"
QUEUE_STORM_LINK = f"[{QUEUE_STORM_TITLE}]({anchor(QUEUE_STORM_TITLE)})"


def applied_per_second(result: StormResult) -> float:
    """Events applied per second: in the request, the events over the storm's seconds; in
    queue mode, over the seconds until the queue was empty."""
    if result.mode == "queue":
        return float(result.drain.get("applied_per_second") or 0.0)
    fig = result.figure
    events = int(fig.get("events_sent", result.events))
    return events / max(float(fig.get("seconds") or 0.0), 1e-9)


def applied_within(result: StormResult) -> float:
    """Seconds from the first request until every event was applied."""
    if result.mode == "queue":
        return float(result.drain.get("seconds") or 0.0)
    return float(result.figure.get("seconds") or 0.0)


def gateway_calls_per_second(result: StormResult) -> float | None:
    """The fake's calls over the time until every event was applied (None: not read)."""
    spent = result.gateway.get("storm") or {}
    seconds = applied_within(result)
    if not spent.get("calls") or not seconds:
        return None
    return float(spent["calls"]) / seconds


def _pool_pressure(result: StormResult) -> str:
    fig = result.figure
    answered_503 = int(fig.get("statuses", {}).get("503", 0)) + int(
        fig.get("warmup_statuses", {}).get("503", 0)
    )
    return f"{answered_503:,} answered 503"


def _row(mode: str, result: StormResult, insert: float) -> str:
    fig = result.figure
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(result.outcomes.items())) or "not read"
    ratio = f"{100 * float(fig['rps']) / insert:.0f} %" if insert else "no ceiling"
    drained = result.mode != "queue" or result.drain.get("drained")
    return (
        f"| {mode} | {fig['requests']:,} | {fig['rps']:.0f} | {ratio} | {_ms(fig['p50_ms'])} | "
        f"{_ms(fig['p99_ms'])} | {_errors(fig)} | {_pool_pressure(result)} | {outcomes} | "
        + (
            f"{applied_within(result):.1f} | {applied_per_second(result):.0f} |"
            if drained
            else "not drained | — |"
        )
    )


def queue_storm(out: Lines, storm: StormResult, direct: ConfigResult | None) -> None:
    """The section: each storm applied in the request and in queue mode, side by side."""
    queued = storm.queued
    latency = storm.under_latency
    latency_queued = latency.queued if latency is not None else None
    if (queued is None or not queued.figure) and latency_queued is None:
        return
    add = out.append
    add(f"## {QUEUE_STORM_TITLE}\n")
    add(
        "With `BOOKPAY_WEBHOOK_MODE=queue`, Bookpay answers a verified webhook 200 "
        "`queued` once it is kept (a row of `received_events`; 5xx when it cannot be kept) "
        "and the server's worker applies it later, paced to `BOOKPAY_WEBHOOK_QUEUE_RATE` "
        "gateway calls a second per process; exactly once is still the inbox's "
        "(`webhook_inbox`), and the run checks the database after the queue drained "
        "(`received_events` empty), with the same checks as the in-request storm's plus: "
        "the queue drained, every answer `queued`. Throughput is of the acknowledgements; "
        "applied within is from the first request until the last event was applied.\n"
    )
    insert = float(direct.figures["ceiling_insert"]["rps"]) if direct else 0.0
    add(
        "| mode | requests | answers/s | vs ceiling | p50 ms | p99 ms | errors | pool "
        "pressure | answers by outcome | applied within s | applied/s |"
    )
    add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |")
    add(_row("in the request", storm, insert))
    if queued is not None and queued.figure:
        add(_row("queue, unpaced", queued, insert))
    add("")
    if queued is not None and queued.figure:
        backlog = queued.drain.get("backlog", 0.0)
        add(
            f"The {queued.events:,}-event storm ran on {queued.workers} workers unpaced "
            f"(`BOOKPAY_WEBHOOK_QUEUE_RATE={queued.queue_rate}`): against a gateway that "
            f"answers at once, the default pace ({DEFAULT_QUEUE_RATE}/s per process) would "
            "be the whole drain; the pace is measured under latency below. When the last "
            f"answer came, {backlog:,.0f} events were kept and not yet applied. "
            f"{_pressure_words(storm, queued)}\n"
        )
    if latency is not None and latency_queued is not None and latency_queued.figure:
        add(latency_words(latency, latency_queued) + "\n")


def _pressure_words(storm: StormResult, queued: StormResult) -> str:
    return (
        f"The pool's pressure (the no-pool-timeout check, not loosened): in the request "
        f"{_pool_pressure(storm)}, in queue mode {_pool_pressure(queued)}."
    )


def latency_words(latency: StormResult, queued: StormResult) -> str:
    """The queue-mode storm under latency: the answers' p99 against the shortest quoted
    timeout, and the worker's gateway calls per second against Stripe's limits, beside
    the in-request storm under the same latency."""
    p99 = float(queued.figure["p99_ms"])
    rate = gateway_calls_per_second(queued)
    pace = queued.queue_rate if queued.queue_rate is not None else DEFAULT_QUEUE_RATE
    limits = ", ".join(
        f"{name} {limit}/s ({'over' if rate is not None and rate > limit else 'within'})"
        for name, limit in RATE_LIMITS
    )
    calls = (
        f"the worker called the gateway {queued.gateway['storm']['calls']:,.0f} times in "
        f"{applied_within(queued):.1f} s, {rate:.1f} calls/s, against Stripe's limits: "
        f"{limits}"
        if rate is not None
        else "the worker's gateway calls were not read"
    )
    in_request = storm_rates(latency)
    fetched = (
        f"{in_request[0].fetches_per_second:.0f} fetches/s" if in_request else "fetches not read"
    )
    return (
        f"Under Stripe's latency (p50/p99 {queued.latency_ms[0] if queued.latency_ms else 0} / "
        f"{queued.latency_ms[1] if queued.latency_ms else 0:,} ms), {queued.workers} worker, "
        f"queue mode at the default pace ({pace}/s per process), {queued.events:,} events "
        f"(few, so that the paced drain stays short: about {queued.events / pace:.0f} s at "
        f"{pace}/s): the answers' p99 was {p99:,.0f} ms "
        + (
            f"({QUOTED_TIMEOUT_MS / max(p99, 1e-9):.1f} × below"
            if p99 < QUOTED_TIMEOUT_MS
            else "(REACHED"
        )
        + f" the shortest webhook timeout quoted for Stripe, {QUOTED_TIMEOUT_MS:,} ms), "
        f"p50 {float(queued.figure['p50_ms']):,.0f} ms, {_errors(queued.figure)} errors; "
        f"{calls}; every event applied {applied_within(queued):.1f} s after the first "
        f"request. In the request under the same latency ({latency.events:,} events): p99 "
        f"{float(latency.figure['p99_ms']):,.0f} ms, {fetched} unpaced."
    )


def modes_conclusion(storm: StormResult, guarantees: str) -> str | None:
    """Which mode the figures favour, from both modes' storms (None without the queue-mode
    storm). Applying in the request is at risk when a storm's p99 reaches the quoted
    timeout or its fetches pass a Stripe limit; queue mode holds when its answers' p99
    stays below the timeout, its worker's calls within the limits, and its queue drains."""
    queued = storm.queued
    if queued is None or not queued.figure:
        return None
    latency = storm.under_latency
    latency_queued = latency.queued if latency is not None else None
    at_risk: list[str] = []
    if float(storm.figure["p99_ms"]) >= QUOTED_TIMEOUT_MS:
        at_risk.append(f"its storm's p99 reached {QUOTED_TIMEOUT_MS:,} ms")
    if latency is not None and latency.figure:
        if float(latency.figure["p99_ms"]) >= QUOTED_TIMEOUT_MS:
            at_risk.append(f"under latency its p99 reached {QUOTED_TIMEOUT_MS:,} ms")
        over = [reading for reading in storm_rates(latency) or [] if reading.over]
        if over:
            at_risk.append(
                f"under latency it fetched {over[0].fetches_per_second:.0f}/s, over "
                + ", ".join(f"{r.name} ({r.per_second}/s)" for r in over)
            )
    kept_p99: list[str] = []
    kept_rate: list[str] = []
    fails: list[str] = []
    limit = min(per_second for _, per_second in RATE_LIMITS)
    for result in (queued, latency_queued):
        if result is None or not result.figure:
            continue
        where = "under gateway latency" if result.latency_ms else "in the storm"
        p99 = float(result.figure["p99_ms"])
        if p99 < QUOTED_TIMEOUT_MS:
            kept_p99.append(f"{p99:,.0f} ms {where}")
        else:
            fails.append(f"{result.name}: p99 {p99:,.0f} ms")
        if not result.drain.get("drained"):
            fails.append(f"{result.name}: the queue did not drain")
        rate = gateway_calls_per_second(result) if result.latency_ms else None
        if rate is not None and rate <= limit:
            kept_rate.append(f"{rate:.1f} gateway calls/s {where}")
        elif rate is not None:
            fails.append(f"{result.name}: {rate:.1f} gateway calls/s")
    kept = _kept_words(kept_p99, kept_rate, limit)
    sooner = float(storm.figure["p99_ms"]) / max(float(queued.figure["p99_ms"]), 1e-9)
    drain = applied_per_second(queued) / max(applied_per_second(storm), 1e-9)
    measured = (
        f"Measured: queue mode acknowledged with p99 {float(queued.figure['p99_ms']):,.0f} ms "
        f"against {float(storm.figure['p99_ms']):,.0f} ms in the request ({sooner:.1f} ×), "
        f"and applied {applied_per_second(queued):.0f} events/s against "
        f"{applied_per_second(storm):.0f} ({drain:.2f} ×; {QUEUE_STORM_LINK}). "
        f"{_pace_words(queued)}."
    )
    if at_risk and not fails:
        verdict = (
            "**Conclusion: the figures favour queue mode** (`BOOKPAY_WEBHOOK_MODE=queue`; "
            "in the request stays the default until a deployment switches). Applying in "
            f"the request is at risk: {'; '.join(at_risk)}; queue mode kept {kept}."
        )
    elif not at_risk and not fails:
        verdict = (
            "**Conclusion: the figures favour applying in the request** (the default; a "
            "200 means committed), with queue mode ready for when a bound nears: in this "
            f"run neither mode passed the quoted timeout or a Stripe limit, and queue mode "
            f"kept {kept}."
        )
    else:
        verdict = (
            "**Conclusion: neither mode kept every bound in this run.** "
            + (f"In the request: {'; '.join(at_risk)}. " if at_risk else "")
            + f"In queue mode: {'; '.join(fails)}."
        )
    return f"{verdict} {measured} {guarantees}\n"


def _kept_words(p99s: list[str], rates: list[str], limit: int) -> str:
    """What queue mode kept, as a phrase: its answers' p99 below the quoted timeout and its
    worker's gateway calls within Stripe's lowest limit (`limit`, calls a second)."""
    words = (
        f"its answers' p99 below {QUOTED_TIMEOUT_MS:,} ms ({' and '.join(p99s)})" if p99s else ""
    )
    if rates:
        words += (" and " if words else "") + (
            f"its worker's calls within Stripe's {limit}/s ({' and '.join(rates)})"
        )
    return words or "no bound measured"


def _pace_words(queued: StormResult) -> str:
    """How the queue-mode storm's drain was paced, so that its applied/s is read right: an
    unpaced drain (rate 0) calls the gateway as fast as it can, past Stripe's limits when
    it does; at the default pace the same events would take events / (pace × workers)
    seconds."""
    counted = gateway_calls_per_second(queued)
    # Unread without latency (the fake's timings): the worker fetches each event it applies
    # from the gateway once (the storm under latency counts one call per event).
    rate = counted if counted is not None else applied_per_second(queued)
    at_default = queued.events / (DEFAULT_QUEUE_RATE * max(queued.workers, 1))
    over = [f"{name} ({limit}/s)" for name, limit in RATE_LIMITS if rate > limit]
    calls = (
        f", itself {rate:.0f} gateway calls/s"
        + ("" if counted is not None else " (one per event applied)")
        + (f", past {' and '.join(over)}" if over else ", within Stripe's limits")
    )
    workers = f"{queued.workers} worker{'' if queued.workers == 1 else 's'}"
    paced = (
        f"The queue's figure is its unpaced run's (`BOOKPAY_WEBHOOK_QUEUE_RATE=0`{calls})"
        if queued.queue_rate == 0
        else f"The queue's figure is paced at {queued.queue_rate or DEFAULT_QUEUE_RATE}/s per "
        f"process{calls}"
    )
    return (
        f"{paced}; at the default pace ({DEFAULT_QUEUE_RATE}/s per process) its "
        f"{queued.events:,} events on {workers} would take about "
        f"{at_default:,.0f} s"
    )
