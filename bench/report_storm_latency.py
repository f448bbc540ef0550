"""The storm under Stripe's latency (issue 19, item 2): its figures, the gateway calls it
made for new events and for duplicates, and how its fetches compare with Stripe's rate
limits. Pure functions of the run's figures; the choice they support is worded in
report_storm."""

from __future__ import annotations

from dataclasses import dataclass

from bench.report_costs import bound_by
from bench.report_sections import Lines, _errors, _ms
from bench.report_waits import waited_on
from bench.storms import StormResult, expected_storm_seconds
from bench.stripe_limits import RATE_LIMITS

LATENCY_STORM_TITLE = "The storm under Stripe's latency"


@dataclass(frozen=True)
class GatewayCalls:
    """The fake's calls during the storm, and how many of them went to duplicates: a
    duplicates-only pass afterwards (`probed` requests, every one a duplicate, `probe_calls`
    calls) gives the calls per duplicate; the rest of the storm's went to new events."""

    in_storm: float
    events: int
    duplicates: int
    probed: int
    probe_calls: float

    @property
    def per_duplicate(self) -> float | None:
        return self.probe_calls / self.probed if self.probed else None

    @property
    def on_duplicates(self) -> float | None:
        each = self.per_duplicate
        return None if each is None else each * self.duplicates

    @property
    def on_events(self) -> float | None:
        on_duplicates = self.on_duplicates
        return None if on_duplicates is None else self.in_storm - on_duplicates

    @property
    def per_event(self) -> float | None:
        on_events = self.on_events
        return None if on_events is None or not self.events else on_events / self.events


def gateway_calls(result: StormResult) -> GatewayCalls | None:
    """The storm's gateway calls as the fake counted them (None when it was not read)."""
    storm = result.gateway.get("storm")
    if storm is None:
        return None
    probe = result.gateway.get("duplicates_only", {})
    probed = int(
        result.duplicates_only.get("answered") or result.duplicates_only.get("requests") or 0
    )
    return GatewayCalls(
        in_storm=storm.get("calls", 0.0),
        events=int(result.figure.get("events_sent", result.events)),
        duplicates=int(result.figure.get("duplicates_sent", 0)),
        probed=probed if probe else 0,
        probe_calls=probe.get("calls", 0.0),
    )


@dataclass(frozen=True)
class RateReading:
    """The storm's gateway fetches against one of Stripe's limits: `per_second` allowed,
    `fetches_per_second` made. `paced_wait_ms`: the mean time a delivery would take if
    Bookpay paced its fetches to the limit while `connections` deliveries wait, each
    making `calls_per_request` calls (Little's law: in flight over throughput), at least
    the storm's own mean; `tail_ms`: the storm's own p99 beyond its mean, added to that
    mean for `paced_p99_ms` (an estimate: pacing may lengthen the tail)."""

    name: str
    per_second: int
    fetches_per_second: float
    paced_wait_ms: float
    tail_ms: float

    @property
    def over(self) -> bool:
        return self.fetches_per_second > self.per_second

    @property
    def paced_p99_ms(self) -> float:
        return self.paced_wait_ms + self.tail_ms


def rate_readings(
    fetches_per_second: float,
    calls_per_request: float,
    connections: int,
    mean_ms: float,
    p99_ms: float,
) -> list[RateReading]:
    """The storm's fetches against each of Stripe's RATE_LIMITS, from its fetch rate, calls
    per request, connections, and its own mean and p99 (ms)."""
    return [
        RateReading(
            name,
            limit,
            fetches_per_second,
            max(1000 * connections * calls_per_request / limit, mean_ms),
            max(p99_ms - mean_ms, 0.0),
        )
        for name, limit in RATE_LIMITS
    ]


def storm_rates(result: StormResult) -> list[RateReading] | None:
    """`rate_readings` for the storm's own figures (None without its gateway calls)."""
    calls, fig = gateway_calls(result), result.figure
    if calls is None or not fig.get("seconds") or not fig.get("requests"):
        return None
    return rate_readings(
        calls.in_storm / float(fig["seconds"]),
        calls.in_storm / float(fig["requests"]),
        result.connections,
        float(fig.get("mean_ms", fig["p50_ms"])),
        float(fig["p99_ms"]),
    )


def latency_storm(out: Lines, result: StormResult) -> None:
    """The section: what the storm under latency measured, and where its time went."""
    add = out.append
    add(f"### {LATENCY_STORM_TITLE}\n")
    fig, drawn = result.figure, result.drawn
    p50, p99 = result.latency_ms or (0, 0)
    add(
        f"The storm again, smaller, with the fake gateway answering as in the latency "
        f"scenario (a log-normal delay, p50 {p50} ms, p99 {p99:,} ms, on session creation, "
        f"retrieval and refunds): PostgreSQL, {result.workers} worker (the fake counts its "
        f"calls per process: one worker's are the storm's all), {result.events:,} pending "
        f"bookings, their events and 20 % duplicates on {result.connections} connections "
        "until every event is in; the same checks as the storm's.\n"
    )
    add(
        "| events | duplicates | seconds | events/s | req/s | p50 ms | p99 ms | errors "
        "| gateway drew p50 / p99 ms | gateway calls |"
    )
    add("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    seconds = float(fig["seconds"])
    events = int(fig.get("events_sent", result.events))
    calls = gateway_calls(result)
    add(
        f"| {events:,} | {fig.get('duplicates_sent', 0):,} | {seconds:.1f} | "
        f"{events / max(seconds, 1e-9):.0f} | {fig['rps']:.0f} | {_ms(fig['p50_ms'])} | "
        f"{_ms(fig['p99_ms'])} | {_errors(fig)} | "
        + (
            f"{drawn['injected_p50_ms']:.0f} / {drawn['injected_p99_ms']:.0f}"
            if drawn
            else "not read"
        )
        + f" | {f'{calls.in_storm:,.0f}' if calls is not None else 'not read'} |"
    )
    add("")
    waits = gateway_waits(result)
    if waits:
        add(waits + "\n")
    if calls is not None:
        add(calls_words(calls, seconds) + "\n")
    if "server_cpu_share" in fig:
        add(bound_by("What bound it, from its own figures", fig, "request") + "\n")
        add(f"Where its requests waited: {waited_on(fig)}.\n")


def gateway_waits(result: StormResult) -> str:
    """The gateway's share of the storm's time: the delays the fake drew, spread over the
    connections, against the storm's wall time and the sizing guide ("" when not read)."""
    spent = result.gateway.get("storm", {})
    if not spent.get("calls") or not result.figure.get("seconds"):
        return ""
    injected = float(spent["injected_seconds"])
    floor = injected / result.connections
    seconds = float(result.figure["seconds"])
    p50 = result.latency_ms[0] if result.latency_ms else 0
    guide = expected_storm_seconds(result.events, p50, result.connections)
    return (
        f"The fake drew {injected:,.0f} s of delays over {spent['calls']:,.0f} calls (mean "
        f"{1000 * injected / spent['calls']:.0f} ms); spread over {result.connections} "
        f"connections that is {floor:.1f} s, {100 * floor / seconds:.0f} % of the storm's "
        f"{seconds:.1f} s (at the median alone, one call per request: {guide:.1f} s): the "
        "rest is Bookpay's own time and the fake's statements."
    )


def calls_words(calls: GatewayCalls, seconds: float) -> str:
    """How many gateway calls went to new events and to duplicates, and the fetch rate."""
    rate = f"{calls.in_storm / max(seconds, 1e-9):.0f} calls/s over the storm's {seconds:.1f} s"
    head = (
        f"Gateway calls: {calls.in_storm:,.0f} in the storm for {calls.events:,} new events "
        f"and {calls.duplicates:,} duplicates ({rate})."
    )
    each, on_events, per_event = calls.per_duplicate, calls.on_events, calls.per_event
    if each is None or on_events is None or per_event is None:
        return head + " No duplicates-only pass: the calls are not split."
    skip = (
        "duplicates are answered without a gateway call"
        if each == 0
        else f"each duplicate calls the gateway ({each:.2f} calls per duplicate)"
    )
    return (
        f"{head} Afterwards {calls.probed:,} applied events sent once more, every request "
        f"a duplicate, made {calls.probe_calls:,.0f} calls: {skip}. So about "
        f"{calls.on_duplicates or 0.0:,.0f} of the storm's calls went to duplicates and "
        f"{on_events:,.0f} to new events ({per_event:.2f} per event); a duplicate racing "
        "its original in flight may call where a late one does not, so the split is an "
        "estimate."
    )
