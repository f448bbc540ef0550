"""The storm's design choice (issue 19, item 2): apply a webhook in its request or from the
inbox, decided from the same run's figures (the storm without and under Stripe's latency),
with the conclusion they support."""

from __future__ import annotations

from bench.configs import ConfigResult
from bench.report_costs import _bound, per_request, starved_figure
from bench.report_queue_storm import QUEUE_STORM_LINK, modes_conclusion
from bench.report_sections import Lines, anchor
from bench.report_storm_latency import (
    LATENCY_STORM_TITLE,
    RateReading,
    gateway_calls,
    latency_storm,
    storm_rates,
)
from bench.storms import StormResult
from bench.stripe_limits import (
    ENDPOINT_REQUESTS_PER_SECOND,
    LIVE_OPERATIONS_PER_SECOND,
    QUOTED_TIMEOUT_MS,
    STRIPE_RATE_LIMITS_URL,
)

STORM_CHOICE_TITLE = "Apply in the request or from the inbox"
STRIPE_WEBHOOKS_URL = "https://docs.stripe.com/webhooks#acknowledge-events-immediately"
LATENCY_STORM_LINK = f"[{LATENCY_STORM_TITLE}]({anchor(LATENCY_STORM_TITLE)})"


def storm_apply_share(
    out: Lines, result: StormResult, direct: ConfigResult | None, not_judged: str | None = None
) -> None:
    """Apply in the request or from the inbox: the figures that decide it. `not_judged`:
    why the storm's target could not be judged (Report), when it could not: then the run
    draws no conclusion."""
    add = out.append
    if result.under_latency is not None and result.under_latency.figure:
        latency_storm(out, result.under_latency)
    add(f"### {STORM_CHOICE_TITLE}\n")
    fig = result.figure
    mix = direct.figures.get("webhooks") if direct else None
    dup = direct.figures.get("webhooks_duplicates") if direct else None
    add(
        f"The storm's p99 was {fig['p99_ms']:.0f} ms (p50 {fig['p50_ms']:.0f} ms) with "
        f"{result.connections} connections on {result.workers} worker"
        f"{'s' if result.workers != 1 else ''}. Stripe asks an endpoint to answer "
        "a successful status (2xx) quickly, before any complex logic that could cause a "
        f'timeout ({STRIPE_WEBHOOKS_URL}), and shows late answers as "Timed out"; it '
        "publishes no figure for the timeout (third-party write-ups quote 3 to 30 s, "
        "unofficially; this report takes the shortest). Each fetch from Stripe counts "
        f"against its rate limits ({STRIPE_RATE_LIMITS_URL}): in live mode "
        f"{LIVE_OPERATIONS_PER_SECOND} operations per second per account, and "
        f"{ENDPOINT_REQUESTS_PER_SECOND} requests per second to one endpoint unless the "
        "page names another; Stripe raises them on request.\n"
    )
    if mix is None or dup is None:
        add("No duplicates-only figure in this run.\n")
        add(conclusion(result, None, not_judged))
        return
    share = mix.get("duplicates_sent", 0) / max(
        mix.get("events_sent", 0) + mix.get("duplicates_sent", 0), 1
    )
    cost_mix, cost_dup = per_request(mix), per_request(dup)
    worker_new = (cost_mix["worker_ms"] - share * cost_dup["worker_ms"]) / max(1 - share, 1e-9)
    lines = [
        f"Per request on PostgreSQL with one worker (section above): the mix "
        f"({100 * share:.0f} % duplicates) cost the worker {cost_mix['worker_ms']:.2f} ms, "
        f"a duplicate alone {cost_dup['worker_ms']:.2f} ms, so a new event about "
        f"{worker_new:.2f} ms."
    ]
    if cost_mix["database_ms"] is not None and cost_dup["database_ms"] is not None:
        db_new = (cost_mix["database_ms"] - share * cost_dup["database_ms"]) / max(1 - share, 1e-9)
        lines.append(
            f"PostgreSQL's backends: {cost_dup['database_ms']:.2f} ms per duplicate, about "
            f"{db_new:.2f} ms per new event."
        )
    apply = worker_new - cost_dup["worker_ms"]
    if apply <= 0:
        lines.append(
            "A duplicate cost the worker as much as a new event or more: in this run the "
            "noise is larger than the apply part, and these figures do not separate it."
        )
        add(" ".join(lines) + "\n")
        add(conclusion(result, None, not_judged))
        return
    lines.append(
        "A duplicate is verified, found in the inbox before any gateway call, and its "
        "payment's parked events looked up (application/payment_events/bus.py): about "
        "what an inbox design keeps in the request (verify and insert). The check with the "
        "gateway and the apply are the rest, at least "
        f"{apply:.2f} ms of the worker's {worker_new:.2f} ms "
        f"({100 * apply / max(worker_new, 1e-9):.0f} %): acknowledging after the inbox "
        "insert would take at least that share of the worker's CPU out of a new event's "
        "request; the rest stays in the request "
        "either way, and the work moved out still needs the same worker's CPU later. The "
        "share is the difference of two figures of a few seconds each, noisy between runs: "
        "read it as an order of magnitude."
    )
    add(" ".join(lines) + "\n")
    add(conclusion(result, apply / max(worker_new, 1e-9), not_judged))


def conclusion(
    result: StormResult, apply_share: float | None, not_judged: str | None = None
) -> str:
    """The choice the figures of both storms support (without and, when run, under
    Stripe's latency), the figures it rests on, what it would take where a bound is
    passed, and the guarantees; none when the storm's figure is `not_judged` (the reason),
    as its target is not."""
    fig = result.figure
    p99 = float(fig["p99_ms"])
    guarantees = _guarantees(result)
    latency = result.under_latency
    others = [latency, result.queued, latency.queued if latency is not None else None]
    for other in others:
        if not_judged is None and other is not None and other.figure:
            starved = starved_figure(other.figure)
            if starved is not None:
                name = "storm under latency" if other is latency else other.name
                not_judged = f"the {name} was measured with the server starved: {starved}"
    if not_judged is not None:
        return (
            "**Conclusion: none from this run.** The storm's figures are not judged "
            f"({not_judged}): the p99 and CPU readings the choice rests on were not the "
            "tree's own, so this run favours neither mode (Bookpay applies in the request "
            "by default and acknowledges first with `BOOKPAY_WEBHOOK_MODE=queue`; "
            f"{QUEUE_STORM_LINK} gives both modes' figures as measured). {guarantees}\n"
        )
    both = modes_conclusion(result, guarantees)
    if both is not None:
        return both
    if p99 >= QUOTED_TIMEOUT_MS:
        return (
            f"**Conclusion: acknowledge from the inbox.** The storm's p99 ({p99:.0f} ms) "
            f"reached the shortest timeout quoted for Stripe ({QUOTED_TIMEOUT_MS:,} ms): "
            f"applying in the request risks answers Stripe counts as failed. {guarantees}\n"
        )
    without = _without_latency(result, apply_share)
    if latency is None or not latency.figure:
        return (
            f"**Conclusion: Bookpay applies in the request** (a 200 means committed). "
            f"{without} Shown for the zero-latency stand-in only: no storm under Stripe's "
            "latency in this run (--storm-latency-events), so neither the gateway's wait "
            f"nor Stripe's rate limits were measured against it. {guarantees} "
            f"{_revisit()}\n"
        )
    return _with_latency(latency, without, guarantees)


def _without_latency(result: StormResult, apply_share: float | None) -> str:
    """The zero-latency storm's case: its p99 against the timeout, what an inbox would move
    out of the request, and whether moving it would drain the storm faster."""
    fig = result.figure
    p99 = float(fig["p99_ms"])
    busiest = max((float(v) for v in fig.get("server_cpu_by_process", [])), default=0.0)
    idle = float(fig.get("machine", {}).get("idle", 1.0))
    bound = _bound(busiest, idle)
    moved = (
        f"an inbox would take at least the apply part ({100 * apply_share:.0f} % of a new "
        "event's worker CPU in this run, a share noisy between runs; above) out of the "
        "request, "
        if apply_share is not None
        else "an inbox would take the apply part (at least) out of the request, "
    )
    by = (
        f"the machine's CPU ({idle:.2f} idle cores)"
        if bound == "machine"
        else f"a worker's CPU (the busiest at {busiest:.2f} of a core)"
    )
    drained = (
        f"and the storm was bound by {by}, so the same work done later drains the backlog "
        "no faster: the events are applied at the same rate either way, only acknowledged "
        "sooner"
        if bound is not None
        else f"though the storm was bound by neither the machine ({idle:.2f} idle cores) nor "
        f"a worker ({busiest:.2f} of a core at most): an inbox might drain it faster, which "
        "this run does not measure"
    )
    return (
        f"Without the gateway's latency the storm's p99, {p99:.0f} ms with "
        f"{result.connections} deliveries at once, is "
        f"{QUOTED_TIMEOUT_MS / max(p99, 1e-9):.1f} × below the shortest timeout quoted for "
        f"Stripe ({QUOTED_TIMEOUT_MS:,} ms); {moved}{drained}. Applying in the request "
        "keeps Stripe's retries as the only retry path, visible in Stripe's dashboard; "
        "in queue mode a failed apply is tried again by Bookpay's own worker, out of Stripe's "
        "sight (an alert of Bookpay's own on the queue: its depth and oldest age on /metrics)."
    )


def _with_latency(latency: StormResult, without: str, guarantees: str) -> str:
    """Both storms' case: under latency, the p99 against the timeout, then the fetches
    against Stripe's rate limits, and what staying in the request would take."""
    fig = latency.figure
    p99 = float(fig["p99_ms"])
    drawn = latency.drawn.get("injected_p99_ms")
    gateway = f" (the gateway drew p99 {drawn:.0f} ms of it)" if drawn is not None else ""
    under = (
        f"Under Stripe's latency ({LATENCY_STORM_LINK}) the storm's p99 was {p99:.0f} ms"
        f"{gateway} with {latency.connections} deliveries at once"
    )
    inbox = (
        "**Conclusion: acknowledge from the inbox** (`BOOKPAY_WEBHOOK_MODE=queue`; in the "
        "request is the default, and this run did not measure queue mode: --no-queue-storm)."
    )
    if p99 >= QUOTED_TIMEOUT_MS:
        return (
            f"{inbox} {without} {under}: it reached the shortest timeout quoted for Stripe "
            f"({QUOTED_TIMEOUT_MS:,} ms), so Stripe would count the slowest answers as "
            f"failed and redeliver them. Applying in the request would take "
            f"{p99 - QUOTED_TIMEOUT_MS:,.0f} ms off that p99 at least; acknowledging after "
            "verifying the event and recording it in the inbox answers without the "
            "gateway's wait, and applies later at the pace Stripe's limits allow. "
            f"{guarantees}\n"
        )
    within = f"{under}, {QUOTED_TIMEOUT_MS / max(p99, 1e-9):.1f} × below {QUOTED_TIMEOUT_MS:,} ms"
    rates = storm_rates(latency)
    if rates is None:
        return (
            f"**Conclusion: Bookpay applies in the request** (a 200 means committed). "
            f"{without} {within}; its calls to the gateway were not counted, so Stripe's "
            f"rate limits were not compared. {guarantees} {_revisit()}\n"
        )
    over = [reading for reading in rates if reading.over]
    fetched = f"it fetched {rates[0].fetches_per_second:.0f} times per second from the gateway"
    if not over:
        limits = ", ".join(f"{r.name} {r.per_second}/s" for r in rates)
        return (
            f"**Conclusion: Bookpay applies in the request** (a 200 means committed), under "
            f"Stripe's latency too. {without} {within}, and {fetched}, within Stripe's "
            f"limits ({limits}). {guarantees} {_revisit()}\n"
        )
    binding = min(over, key=lambda reading: reading.per_second)
    passed = ", ".join(
        f"{r.name} ({r.per_second}/s, {r.fetches_per_second / r.per_second:.1f} ×)" for r in over
    )
    refused = (
        f"{within}; but {fetched}, above {passed}: real Stripe would refuse the excess "
        "with 429, the request answer 5xx and Stripe redeliver it later (exactly once still "
        "holds; the storm drains slower)."
    )
    drain = _drain_words(latency, binding)
    paced = (
        f"{binding.paced_wait_ms:,.0f} ms on average (Little's law) and about "
        f"{binding.paced_p99_ms:,.0f} ms at p99 (this storm's {binding.tail_ms:,.0f} ms from "
        "its mean to its p99 added; pacing may lengthen it)"
    )
    if binding.paced_p99_ms < QUOTED_TIMEOUT_MS:
        return (
            "**Conclusion: Bookpay applies in the request** (a 200 means committed), **if "
            f"it paces its fetches from Stripe.** {without} {refused} What it would take: "
            f"{_pacing(latency)}; paced to {binding.per_second}/s with "
            f"{latency.connections} deliveries at once, a delivery would take about {paced}, "
            f"under {QUOTED_TIMEOUT_MS:,} ms. {drain} {guarantees} {_revisit()}\n"
        )
    return (
        f"{inbox} {without} {refused} Paced to {binding.per_second}/s in the request, with "
        f"{latency.connections} deliveries at once a delivery would take about {paced}, "
        f"past {QUOTED_TIMEOUT_MS:,} ms: Stripe would count the slowest as failed. From the "
        f"inbox the answer waits for no fetch, and the applies are paced instead. {drain} "
        f"{guarantees}\n"
    )


def _pacing(latency: StormResult) -> str:
    """What pacing the fetches takes, and whether duplicates still fetch."""
    calls = gateway_calls(latency)
    each = calls.per_duplicate if calls is not None else None
    if calls is None or each is None:
        return (
            "a limiter of Bookpay's own on its fetches (none in the request; queue mode "
            "paces its worker)"
        )
    if each == 0:
        return (
            "a limiter of Bookpay's own on its fetches (none in the request; duplicates already "
            "skip the gateway)"
        )
    return (
        "a limiter of Bookpay's own on its fetches (none in the request), and duplicates answered "
        f"from the inbox before fetching (now {each:.2f} calls each: about "
        f"{calls.on_duplicates or 0.0:,.0f} of the storm's {calls.in_storm:,.0f} calls)"
    )


def _drain_words(latency: StormResult, binding: RateReading) -> str:
    """How long the storm's events take to apply at the binding limit, in either design."""
    calls = gateway_calls(latency)
    if calls is None or not calls.events:
        return ""
    per_event = calls.per_event if calls.per_event is not None else calls.in_storm / calls.events
    seconds = calls.events * per_event / binding.per_second
    return (
        f"Either way the limit bounds the applies: {calls.events:,} events at "
        f"{per_event:.2f} fetches each take at least {seconds:,.0f} s at "
        f"{binding.per_second}/s (the storm took {float(latency.figure['seconds']):.1f} s)."
    )


def _guarantees(result: StormResult) -> str:
    once = [_once(result, "this storm's database")]
    latency = result.under_latency
    if latency is not None and latency.figure:
        once.append(_once(latency, "the storm under latency"))
    queued = [
        storm
        for storm in (result.queued, latency.queued if latency is not None else None)
        if storm is not None and storm.figure
    ]
    once += [_once(storm, f"the {storm.name}") for storm in queued]
    queue = (
        "; in queue mode an event that cannot be kept answers 5xx, and one kept whose "
        "apply fails is tried again by the worker (tests/unit/application/"
        "test_webhook_queue.py)"
        if queued
        else ""
    )
    return (
        f"Either way, {'; '.join(once)}; and a failure answers 5xx so that Stripe "
        "redelivers, the redelivery applied once (tests/integration/http/test_webhook_crash.py)"
        f"{queue}."
    )


def _once(result: StormResult, where: str) -> str:
    check = result.check
    if check is None:
        return f"exactly once was not checked in {where}"
    if not check.exactly_once:
        return f"exactly once did NOT hold in {where} (the correctness checks above fail the run)"
    return (
        f"exactly once held in {where} ({check.confirmed:,} confirmed for {result.events:,} "
        "events, duplicates and redeliveries included)"
    )


def _revisit() -> str:
    return (
        f"The choice is to revisit when a storm's p99 nears {QUOTED_TIMEOUT_MS:,} ms or its "
        "fetches near Stripe's limits."
    )
