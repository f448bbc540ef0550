"""The sections of docs/benchmarks.md, each written from the results of one run (its
header: bench/report_header.py)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bench.checks import Checks
from bench.common import DUPLICATE_SHARE, ROOT, WEBHOOK_BOOKINGS
from bench.configs import ConfigResult

Lines = list[str]
NAMES = {
    "ceiling_json": ("ceiling: bare JSON", None),
    "ceiling_insert": ("ceiling: one-row insert", None),
    "availability": ("availability (GET …/slots, 60 slots)", "ceiling_json"),
    "book_page": ("booking page (GET /book/{slug}, HTML)", "ceiling_json"),
    "checkout": ("checkout (1 seat, fake gateway)", "ceiling_insert"),
    "webhooks": ("webhooks (20 % duplicates)", "ceiling_insert"),
}


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _ratio(value: float, ceiling: float) -> str:
    return f"{100 * value / ceiling:.0f} %" if ceiling else "n/a"


def _errors(fig: dict[str, Any]) -> str:
    """Errors of the measured window, and of the warm-up when there were any."""
    warmup = int(fig.get("warmup_errors", 0))
    return f"{fig['errors']}" + (f" (+{warmup} warm-up)" if warmup else "")


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def database(config: ConfigResult) -> str:
    return config.database + (" via PgBouncer" if config.pgbouncer else "")


NO_PROFILE = "no profile taken"
# What explains a missed target, by the words of its name (first match).
EXPLANATIONS = (
    ("gateway latency", "profile", "checkout_latency_full"),
    ("p99 at half load", "profile", "checkout_latency"),
    ("webhook storm", "profile", "webhooks"),
    ("checkout ≥", "profile", "checkout"),
    ("webhooks ≥", "profile", "webhooks"),
    ("availability (GET", "profile", "availability"),
    ("booking page", "profile", "book_page"),
    ("peak memory", "section", "Peak memory"),
    ("at 1M bookings", "section", "Growth: 1 thousand vs 1 million bookings and ledger entries"),
)


def anchor(title: str) -> str:
    """GitHub's anchor of a heading."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return "#" + kept.replace(" ", "-")


def explained_by(target: str, profiled: Collection[str]) -> str:
    """A link to what explains `target` when missed; `profiled`: the scenarios of this
    run's profiles (none with --no-profile or without py-spy), the only ones linked."""
    for words, kind, name in EXPLANATIONS:
        if words in target:
            if kind == "profile" and name not in profiled:
                return NO_PROFILE
            title = profile_title(name) if kind == "profile" else name
            return f"[{title}]({anchor(title)})"
    return NO_PROFILE


def profile_title(scenario: str) -> str:
    return f"Profile: {scenario}"


def targets(
    out: Lines,
    found: list[tuple[str, str, bool]],
    checks: Checks,
    explanations: dict[str, str],
    profiled: Collection[str],
) -> None:
    from bench.report_costs import OTHER_LOAD  # report_costs imports this module

    add = out.append
    add("## Targets\n")
    add(
        "A miss names the section whose figures of this run explain it: for a throughput "
        "ratio, that configuration's costs per request against its ceiling's, and the "
        "server's py-spy profile under that load: only missed loads are profiled, on one "
        "worker of the configuration that missed (a two-worker miss links its database's "
        "one-worker profile), the storm's load over both workers (in queue mode for the "
        "queue-mode storm's target); for "
        "the other targets, the section that measures them. Each figure is one measurement "
        "of a few seconds (those under Stripe's latency twice as long) on a shared machine: "
        "two idle runs of the same tree differed by up to half on the latency and SQLite "
        "figures (bench/findings.md), so a target that close to its line may read met in "
        "one run and missed in the next. A ratio whose ceiling or reference was measured with "
        "the server starved of CPU (its workers well below a core each while the machine had "
        "no idle core: other load took the cores) reads **not judged**, never met or missed, "
        "and fails the run, listed apart from the correctness checks: that run cannot judge "
        "it; so does a figure itself measured so "
        "while other load (outside the server, this run's database and the load generator) "
        f"kept {OTHER_LOAD:.2f} cores or more busy.\n"
    )
    add("| target | measured | | explained by |")
    add("| --- | --- | --- | --- |")
    for name, value, ok in found:
        why = explanations.get(name) or explained_by(name, profiled)
        # A target without its figure or ceiling (bench/report.py): no ratio, no verdict.
        # Nor for one whose ceiling or reference was starved of CPU (report_costs.starved).
        mark = next(
            (f"**{state}**" for state in ("not measured", "not judged") if value.startswith(state)),
            _mark(ok),
        )
        add(f"| {name} | {value} | {mark} | {'' if ok else why} |")
    add("")
    add("## Correctness checks (asserted: a failed check fails `make bench`)\n")
    failed, unjudged = checks.failures, checks.not_judged
    add(
        f"{len(checks.results)} checks, {len(failed)} failed"
        + (": " + "; ".join(failed) if failed else "")
        + (
            f"; besides, {len(unjudged)} target{'s' if len(unjudged) != 1 else ''} not "
            "judged (next section), which fails the run too."
            if unjudged
            else "."
        )
        + "\n"
    )
    for what, ok in checks.results:
        add(f"- {'held' if ok else '**FAILED**'}: {what}")
    add("")
    if unjudged:
        add("## Targets not judged (a run that cannot judge fails `make bench`)\n")
        add(
            "Not a broken guarantee: these targets' figures were measured with the server "
            "starved of CPU (a busy machine), so this run can neither meet nor miss them.\n"
        )
        for what in unjudged:
            add(f"- **NOT JUDGED**: {what}")
        add("")


def throughput(out: Lines, configs: list[ConfigResult]) -> None:
    add = out.append
    add("## Throughput and latency\n")
    add(
        "Ratios: availability to the bare JSON ceiling, checkout and webhooks to the "
        "one-row insert ceiling, each measured on the same database and worker count "
        "minutes apart.\n"
    )
    add(
        "The ceilings run on the same stack as Bookpay: uvicorn on uvloop's loop and "
        "httptools' parser (`--loop uvloop --http httptools`, bench/servers.py). When that "
        "stack landed (d650b69) the bare JSON ceiling rose far more than Bookpay's own "
        "figures, so the availability ratio fell while its requests per second held: "
        "bench/findings.md says why. The issue's starting figures (43 % / 47 % / 7 %) were "
        "measured on an earlier stack and machine: ratios across runs of different stacks "
        "are not comparable.\n"
    )
    add(
        "CPU is in cores, averaged over warm-up and measurement: the server's processes "
        "(per process in brackets), all of PostgreSQL's processes (other databases on the "
        "server included: the costs section counts this run's own) and the load generator's; "
        "then the "
        "whole machine's idle cores and the cores stolen by the hypervisor (the machine "
        "is shared: idle cores while the server is not saturated mean waiting).\n"
    )
    add(
        "| database | workers | scenario | req/s | p50 ms | p99 ms | errors | vs ceiling "
        "| CPU server [per process] / postgres / client | idle / steal |"
    )
    add("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for config in configs:
        for key, (label, ceiling_key) in NAMES.items():
            if key not in config.figures:
                continue
            fig = config.figures[key]
            ceiling = config.figures.get(ceiling_key or "")
            ratio = _ratio(fig["rps"], ceiling["rps"]) if ceiling else "—"
            add(
                f"| {database(config)} | {config.label} | {label} | {fig['rps']:.0f} | "
                f"{_ms(fig['p50_ms'])} | {_ms(fig['p99_ms'])} | {_errors(fig)} | {ratio} | "
                f"{fig['server_cpu_share']:.2f} {fig['server_cpu_by_process']} / "
                f"{fig['postgres_cpu_share']:.2f} / {fig['client_cpu_share']:.2f} | "
                f"{fig['machine']['idle']:.2f} / {fig['machine']['steal']:.2f} |"
            )
    add("")
    caching = browsing_caching(configs)
    if caching:
        add(caching + "\n")
    errors = [
        (c, k, f)
        for c in configs
        for k, f in c.figures.items()
        if (f["errors"] or f.get("warmup_errors")) and f.get("first_error")
    ]
    if errors:
        add("First error of each figure that had errors:\n")
        for config, key, fig in errors:
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(fig["statuses"].items()))
            detail = " ".join(str(fig["first_error"]).split())[:300]
            add(f"- {database(config)}/{config.label} {key} ({statuses}): `{detail}`")
        add("")


def browsing_caching(configs: list[ConfigResult]) -> str | None:
    """What an availability answer carried for caching (read from one answer per
    configuration before its load), and what the load's answers were."""
    read = [c for c in configs if c.caching and "availability" in c.figures]
    if not read:
        return None
    tags = [c.caching["ETag"] for c in read if "ETag" in c.caching]
    carried = sorted(
        {
            f"a {c.caching.get('status', '?')} with "
            f"`Cache-Control: {c.caching.get('Cache-Control', 'none')}` and "
            + (f"an ETag (e.g. `ETag: {tags[0]}`)" if "ETag" in c.caching else "no ETag")
            for c in read
        }
    )
    statuses: dict[str, int] = {}
    for config in read:
        for status, count in config.figures["availability"].get("statuses", {}).items():
            statuses[status] = statuses.get(status, 0) + int(count)
    answers = ", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items()))
    full = set(statuses) == {"200"}
    return (
        "Browsing and HTTP caching: an availability answer read before each load was "
        + " / ".join(carried)
        + f" ({len(read)} configuration{'s' if len(read) != 1 else ''}). The load sends no "
        "`If-None-Match` (bench/shop.py), so "
        + (
            f"every availability figure above is of full 200 answers ({answers})."
            if full
            else f"no answer should be a 304; its answers were {answers}."
        )
    )


def webhooks_once(out: Lines, configs: list[ConfigResult]) -> None:
    add = out.append
    add("## Webhooks applied exactly once\n")
    add(
        f"{WEBHOOK_BOOKINGS:,} pending bookings are seeded per configuration (each with a "
        "Checkout Session id and a held seat); the load sends one signed "
        "`checkout.session.completed` per booking, and re-sends an already sent event "
        f"(same id, fresh signature) as {DUPLICATE_SHARE:.0%} of all requests. Afterwards "
        "the runner reads the database.\n"
    )
    add(
        "| database | workers | events sent | duplicates sent | confirmed | charge entries "
        "| bookings with a charge | inbox rows | seats booked | `booking.confirmed` events out "
        "(bookings) | left pending | exactly once |"
    )
    add("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for config in configs:
        check = config.webhooks
        fig = config.figures["webhooks"]
        if check is None:
            continue
        add(
            f"| {database(config)} | {config.label} | {check.sent:,} | "
            f"{fig.get('duplicates_sent', 0):,} | {check.confirmed:,} | "
            f"{check.charge_entries:,} | {check.bookings_with_a_charge:,} | "
            f"{check.inbox_records:,} | {check.seats_booked:,} | "
            f"{check.confirmation_events:,} ({check.bookings_with_a_confirmation_event:,}) | "
            f"{check.still_pending:,} | "
            f"{'yes' if check.exactly_once else '**no**'} |"
        )
    add("")


MEMORY_ROLES = {
    "calibration": "calibration app, after its load",
    "bookpay_ready": "Bookpay, ready (before any load)",
    "bookpay": "Bookpay, after all its load",
}


def memory(out: Lines, configs: list[ConfigResult]) -> None:
    add = out.append
    add("## Peak memory\n")
    add(
        "VmHWM (peak resident set) of each server process, read from /proc; with 2 workers "
        "uvicorn runs a supervisor (`main`) and two workers. Three readings per "
        "configuration: the calibration app (the same framework, server, engine and driver "
        "with one route each: the floor any app on this stack starts from) after its load, "
        "Bookpay as soon as it answers ready (its imports and start-up), and Bookpay after "
        "all its load.\n"
    )
    add("| database | workers | server | processes (role: peak MB) |")
    add("| --- | --- | --- | --- |")
    for config in configs:
        for server in MEMORY_ROLES:
            rows = config.memory.get(server)
            if not rows:
                continue
            text = ", ".join(f"{r['role']}: {r['peak_mb']:.0f}" for r in rows)
            add(f"| {database(config)} | {config.label} | {MEMORY_ROLES[server]} | {text} |")
    add("")
    for config in configs:
        split = memory_split(config)
        if split is None:
            continue
        floor, ready, loaded = split
        add(
            f"- {config.where}: the stack's floor {floor:.0f} MB, Bookpay's start-up adds "
            f"{ready - floor:.0f} MB (ready at {ready:.0f} MB), its load "
            f"{loaded - ready:.0f} MB more (peak {loaded:.0f} MB)."
        )
    add("")


def memory_split(config: ConfigResult) -> tuple[float, float, float] | None:
    """(calibration, Bookpay ready, Bookpay loaded): the largest process of each."""
    found = []
    for server in ("calibration", "bookpay_ready", "bookpay"):
        rows = config.memory.get(server)
        if not rows:
            return None
        found.append(max(float(row["peak_mb"]) for row in rows))
    return found[0], found[1], found[2]


def quotes(out: Lines, quotes: dict[str, dict[str, float]]) -> None:
    add = out.append
    add("## Fee quotes, in-process\n")
    add("`FeePolicy.quote` called in a loop in the runner's process (no HTTP, 1 to 100 seats).\n")
    add("| policy | quotes/s | µs per quote |")
    add("| --- | ---: | ---: |")
    for name, fig in quotes.items():
        add(f"| {name} | {fig['quotes_per_second']:,.0f} | {fig['us_per_quote']:.1f} |")
    add("")


def findings(out: Lines) -> None:
    path = ROOT / "bench" / "findings.md"
    if path.exists():
        out.append(path.read_text().rstrip() + "\n")
