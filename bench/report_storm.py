"""The storm's design choice (issue 19, item 2): apply a webhook in its request or from the
inbox, decided from the same run's figures, with the conclusion they support."""

from __future__ import annotations

from bench.configs import ConfigResult
from bench.report_costs import _bound, per_request
from bench.report_sections import Lines
from bench.scenarios import StormResult

STORM_CHOICE_TITLE = "Apply in the request or from the inbox"
# The shortest timeout for a webhook's answer that write-ups about Stripe quote (Stripe
# publishes none): the storm's p99 must stay well under it for applying in the request.
QUOTED_TIMEOUT_MS = 3_000


def storm_apply_share(
    out: Lines, result: StormResult, direct: ConfigResult | None, not_judged: str | None = None
) -> None:
    """Apply in the request or from the inbox: the figures that decide it. `not_judged`:
    why the storm's target could not be judged (Report), when it could not: then the run
    draws no conclusion."""
    add = out.append
    add(f"### {STORM_CHOICE_TITLE}\n")
    fig = result.figure
    mix = direct.figures.get("webhooks") if direct else None
    dup = direct.figures.get("webhooks_duplicates") if direct else None
    add(
        f"The storm's p99 was {fig['p99_ms']:.0f} ms (p50 {fig['p50_ms']:.0f} ms) with "
        f"{result.connections} connections on {result.workers} worker"
        f"{'s' if result.workers != 1 else ''}. Stripe asks an endpoint to answer "
        "2xx quickly, before any complex logic that could cause a timeout, and shows late "
        'answers as "Timed out" (Stripe\'s webhooks guide, https://docs.stripe.com/webhooks, '
        "best practices, as third-party write-ups quote it, e.g. https://dev.to/webhookproof/"
        "stripe-webhook-timed-out-return-a-2xx-first-then-do-the-heavy-work-in-a-queue-3ifc); "
        "Stripe publishes no figure for the timeout (those write-ups quote 3 to 30 s, "
        "unofficially).\n"
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
        "A duplicate is verified, checked with the gateway, found in the inbox, and its "
        "payment's parked events looked up (application/payment_events/bus.py): at most "
        "what an inbox design keeps in the request (verify and insert; the check could move "
        "out with the apply). The apply part is the rest, at least "
        f"{apply:.2f} ms of the worker's {worker_new:.2f} ms "
        f"({100 * apply / max(worker_new, 1e-9):.0f} %): acknowledging after the inbox "
        "insert would take at least that share of the worker's CPU out of a new event's "
        "request (more if the gateway's check moved out too); the rest stays in the request "
        "either way, and the work moved out still needs the same worker's CPU later. The "
        "share is the difference of two figures of a few seconds each, noisy between runs: "
        "read it as an order of magnitude."
    )
    add(" ".join(lines) + "\n")
    add(conclusion(result, apply / max(worker_new, 1e-9), not_judged))


def conclusion(
    result: StormResult, apply_share: float | None, not_judged: str | None = None
) -> str:
    """The choice the figures support, the figures it rests on, and the guarantees; none
    when the storm's figure is `not_judged` (the reason), as its target is not."""
    fig = result.figure
    p99 = float(fig["p99_ms"])
    busiest = max((float(v) for v in fig.get("server_cpu_by_process", [])), default=0.0)
    idle = float(fig.get("machine", {}).get("idle", 1.0))
    bound = _bound(busiest, idle)
    check = result.check
    once = (
        f"exactly once held in this storm's database ({check.confirmed:,} confirmed for "
        f"{result.events:,} events, duplicates and redeliveries included)"
        if check is not None and check.exactly_once
        else "exactly once did NOT hold in this storm's database (the correctness checks "
        "above fail the run)"
        if check is not None
        else "exactly once was not checked in this run"
    )
    guarantees = (
        f"Either way, {once}; and a failure answers 5xx so that Stripe redelivers, the "
        "redelivery applied once (tests/integration/http/test_webhook_crash.py)."
    )
    if not_judged is not None:
        return (
            "**Conclusion: none from this run.** The storm's figures are not judged "
            f"({not_judged}): the p99 and CPU readings the choice rests on were not the "
            "tree's own, so this run recommends neither design (Bookpay, as built, applies in "
            f"the request; this run neither confirms nor questions that). {guarantees}\n"
        )
    moved = (
        f"an inbox would take at least the apply part ({100 * apply_share:.0f} % of a new "
        "event's worker CPU in this run, a share noisy between runs; above) out of the "
        "request, "
        if apply_share is not None
        else "an inbox would take the apply part (at least) out of the request, "
    )
    if p99 >= QUOTED_TIMEOUT_MS:
        return (
            f"**Conclusion: acknowledge from the inbox.** The storm's p99 ({p99:.0f} ms) "
            f"reached the shortest timeout quoted for Stripe ({QUOTED_TIMEOUT_MS:,} ms): "
            f"applying in the request risks answers Stripe counts as failed. {guarantees}\n"
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
        f"**Conclusion: Bookpay applies in the request** (a 200 means committed). The "
        f"storm's p99, {p99:.0f} ms with {result.connections} deliveries at once, is "
        f"{QUOTED_TIMEOUT_MS / max(p99, 1e-9):.1f} × below the shortest timeout quoted for "
        f"Stripe ({QUOTED_TIMEOUT_MS:,} ms); {moved}{drained}. Applying in the request "
        "keeps Stripe's retries as the only retry path, visible in Stripe's dashboard; "
        "from an inbox, a failed apply would need a worker and an alert of Bookpay's own. "
        f"{guarantees} The choice is to revisit when the storm's p99 nears "
        f"{QUOTED_TIMEOUT_MS:,} ms.\n"
    )
