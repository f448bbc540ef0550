"""The storm under Stripe's latency: its report says what its figures show (the gateway
calls split between new events and duplicates, the choice worded from the p99 and the
fetches against Stripe's limits), and its checks fail the run when what they check is
broken (synthetic figures, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.checks import Checks, WebhookCheck
from tests.support.bench_reports import applied_once
from tests.support.bench_storms import (
    CLEAN,
    DRAWN,
    latency_storm,
    storm_served,
    with_latency_storm,
)


def test_the_gateway_calls_are_split_from_the_duplicates_only_pass_either_way() -> None:
    from bench.report_storm_latency import calls_words, gateway_calls

    fetching = gateway_calls(latency_storm(1400, 14.0, 2_500, 400))
    assert fetching is not None
    assert (fetching.per_duplicate, fetching.on_duplicates, fetching.on_events) == (
        1.0,
        500.0,
        2_000.0,
    )
    assert "each duplicate calls the gateway (1.00 calls per duplicate)" in calls_words(
        fetching, 14.0
    )
    assert "about 500 of the storm's calls went to duplicates and 2,000 to new events (1.00" in (
        calls_words(fetching, 14.0)
    )
    skipping = gateway_calls(latency_storm(1400, 11.0, 2_000, 0))
    assert skipping is not None
    words = calls_words(skipping, 11.0)
    assert "duplicates are answered without a gateway call" in words
    assert "about 0 of the storm's calls went to duplicates and 2,000 to new events" in words
    assert "(182 calls/s over the storm's 11.0 s)" in words
    unprobed = latency_storm(1400, 11.0, 2_000, 0)
    unprobed.gateway.pop("duplicates_only")
    split = gateway_calls(unprobed)
    assert split is not None
    assert split.per_duplicate is None
    assert calls_words(split, 11.0).endswith("No duplicates-only pass: the calls are not split.")


def test_the_rates_compare_the_fetches_with_both_of_stripes_limits() -> None:
    from bench.report_storm_latency import rate_readings

    live, endpoint = rate_readings(178.0, 1.0, 64, 360.0, 1400.0)
    assert (live.per_second, live.over, round(live.paced_wait_ms)) == (100, True, 640)
    assert (endpoint.per_second, endpoint.over, round(endpoint.paced_wait_ms)) == (
        25,
        True,
        2560,
    )
    # The storm's own tail beyond its mean (1,040 ms) added to the paced mean.
    assert (round(live.paced_p99_ms), round(endpoint.paced_p99_ms)) == (1680, 3600)
    calm = rate_readings(20.0, 0.8, 64, 900.0, 1200.0)
    assert [reading.over for reading in calm] == [False, False]
    # Paced or not, a delivery takes at least the storm's own mean.
    assert (calm[0].paced_wait_ms, calm[0].paced_p99_ms) == (900.0, 1200.0)


def test_the_conclusion_without_a_latency_run_is_for_the_stand_in_only() -> None:
    from bench.report_storm import conclusion

    text = conclusion(with_latency_storm(None), 0.4)
    assert text.startswith("**Conclusion: Bookpay applies in the request** (a 200 means")
    assert "Shown for the zero-latency stand-in only" in text


def test_the_conclusion_holds_in_the_request_when_latency_and_fetches_stay_within() -> None:
    from bench.report_storm import conclusion

    # 200 calls in 20 s: 10/s, under both limits.
    storm = with_latency_storm(latency_storm(900, 20.0, 200, 0, duplicates=0))
    text = conclusion(storm, 0.4)
    assert text.startswith(
        "**Conclusion: Bookpay applies in the request** (a 200 means committed), under "
        "Stripe's latency too."
    )
    assert "the storm's p99 was 900 ms (the gateway drew p99 1190 ms of it)" in text
    assert "3.3 × below 3,000 ms" in text
    assert "it fetched 10 times per second from the gateway, within Stripe's limits" in text
    assert "exactly once held in the storm under latency (2,000 confirmed" in text


def test_fetches_past_a_limit_that_pacing_absorbs_keep_the_request_if_paced() -> None:
    from bench.report_storm import conclusion

    # 2,500 calls in 20 s: 125/s, over both limits; one call per request, so paced to
    # 25/s, 64 deliveries take 2,560 ms on average, 2,860 with the storm's tail (300 ms).
    storm = with_latency_storm(latency_storm(1200, 20.0, 2_500, 400, mean_ms=900))
    text = conclusion(storm, 0.4)
    assert text.startswith(
        "**Conclusion: Bookpay applies in the request** (a 200 means committed), **if it "
        "paces its fetches from Stripe.**"
    )
    assert "it fetched 125 times per second from the gateway, above live mode's limit in" in text
    assert "(100/s, 1.2 ×), one endpoint's default limit (25/s, 5.0 ×)" in text
    assert "duplicates answered from the inbox before fetching (now 1.00 calls each" in text
    assert (
        "a delivery would take about 2,560 ms on average (Little's law) and about 2,860 ms "
        "at p99 (this storm's 300 ms from its mean to its p99 added; pacing may lengthen "
        "it), under 3,000 ms"
    ) in text
    assert "2,000 events at 1.00 fetches each take at least 80 s at 25/s" in text
    # 2,000 calls for 2,500 requests: 100/s, over one endpoint's limit only.
    skipping = with_latency_storm(latency_storm(1200, 20.0, 2_000, 0, mean_ms=900))
    text = conclusion(skipping, 0.4)
    assert "duplicates already skip the gateway" in text
    assert "above one endpoint's default limit (25/s, 4.0 ×)" in text
    assert "about 2,048 ms on average" in text


def test_fetches_that_pacing_would_hold_past_the_timeout_favour_the_inbox() -> None:
    from bench.report_storm import conclusion

    # Two calls per request: paced to 25/s, 64 deliveries take 5,120 ms on average.
    storm = with_latency_storm(latency_storm(1400, 20.0, 5_000, 800))
    text = conclusion(storm, 0.4)
    assert text.startswith(
        "**Conclusion: acknowledge from the inbox** (`BOOKPAY_WEBHOOK_MODE=queue`; in the "
        "request is the default, and this run did not measure queue mode: --no-queue-storm)."
    )
    assert "a delivery would take about 5,120 ms on average (Little's law)" in text
    assert "past 3,000 ms: Stripe would count the slowest as failed" in text
    assert "From the inbox the answer waits for no fetch" in text
    # One call per request: 2,560 ms on average, but with the storm's tail (933 ms from its
    # mean to its p99) 3,493 ms at p99: past the timeout too.
    tail = conclusion(with_latency_storm(latency_storm(1400, 20.0, 2_500, 400)), 0.4)
    assert tail.startswith("**Conclusion: acknowledge from the inbox**")
    assert "about 2,560 ms on average (Little's law) and about 3,493 ms at p99" in tail


def test_a_latency_p99_past_the_timeout_favours_the_inbox_and_says_by_how_much() -> None:
    from bench.report_storm import conclusion

    storm = with_latency_storm(latency_storm(3_400, 30.0, 500, 0))
    text = conclusion(storm, 0.4)
    assert text.startswith("**Conclusion: acknowledge from the inbox**")
    assert "it reached the shortest timeout quoted for Stripe (3,000 ms)" in text
    assert "would take 400 ms off that p99 at least" in text


def test_a_latency_storm_measured_starved_draws_no_conclusion() -> None:
    from bench.report_storm import conclusion

    latency = latency_storm(900, 20.0, 200, 0, duplicates=0)
    # Its one worker at 0.29 of a core, 1.5 cores busy outside the server: starved.
    latency.figure.update(
        server_cpu_by_process=[0.29],
        server_cpu_share=0.29,
        postgres_cpu_share=0.12,
        client_cpu_share=0.01,
        wall_seconds=20.0,
    )
    text = conclusion(with_latency_storm(latency), 0.4)
    assert text.startswith("**Conclusion: none from this run.**")
    assert "the storm under latency was measured with the server starved" in text
    assert "exactly once held in the storm under latency" in text


def test_the_section_prints_the_latency_storms_figures() -> None:
    from bench.report_storm import storm_apply_share

    latency = latency_storm(1400, 14.0, 2_500, 400)
    latency.figure["phases"] = {
        "route": "POST /v1/webhooks/stripe",
        "requests": 2_500.0,
        "whole": {"mean_ms": 420.0, "p99_ms": 1500.0, "p50_ms": 350.0},
        "gateway_call": {"mean_ms": 370.0, "p99_ms": 1250.0, "p50_ms": 300.0},
    }
    out: list[str] = []
    storm_apply_share(out, with_latency_storm(latency), None)
    text = "\n".join(out)
    assert text.index("### The storm under Stripe's latency") < text.index(
        "### Apply in the request or from the inbox"
    )
    # events/s, req/s, p50, p99, errors, drawn p50 / p99, calls
    assert "| 2,000 | 500 | 14.0 | 143 | 179 | 700.0 | 1400.0 | 0 | 301 / 1190 | 2,500 |" in text
    assert "The fake drew 900 s of delays over 2,500 calls (mean 360 ms)" in text
    assert "that is 14.1 s, 100 % of the storm's 14.0 s (at the median alone" in text
    assert "370.0 ms in the gateway call, as the app saw it" in text
    assert "https://docs.stripe.com/webhooks#acknowledge-events-immediately" in text
    assert "https://docs.stripe.com/rate-limits" in text


def test_the_storm_under_latency_holds_its_checks_and_counts_the_fakes_calls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import storms

    storm_served(monkeypatch, tmp_path, CLEAN, applied_once(20), DRAWN)
    checks = Checks()
    result = storms.measure_storm_under_latency(20, checks)
    assert checks.failures == []
    assert [what.split(":")[0] for what, _ in checks.results] == [
        "webhook storm under gateway latency",  # the latency injected
        "webhook storm under gateway latency",  # no errors
        "webhook storm under gateway latency",  # all sent
        "webhook storm under gateway latency",  # duplicates only: no errors
        "webhook storm under gateway latency",  # no pool timeout
        "webhook storm under gateway latency applied exactly once (one confirmation, "
        "charge, inbox row, seat booked and booking.confirmed event out per event sent)",
        "webhook storm under gateway latency",  # seats
    ]
    assert result.gateway["storm"]["calls"] == 2_500
    assert result.gateway["duplicates_only"]["calls"] == 400
    assert (result.workers, result.latency_ms) == (1, (300, 1200))


def test_the_storm_under_latency_fails_the_run_when_its_checks_break(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench import storms
    from bench.run import finish

    broken = WebhookCheck(20, 20, 20, 0, 21, 20, 20, 0, 20, 20, 20)  # a charge twice
    errors = {"errors": 3, "warmup_errors": 0, "statuses": {"200": 2_497, "503": 3}}
    timeout = "WARNING database unavailable on POST /v1/webhooks/stripe: TimeoutError\n"
    storm_served(monkeypatch, tmp_path, errors, broken, {}, log=timeout)
    checks = Checks()
    storms.measure_storm_under_latency(20, checks)
    assert checks.failures == [
        "webhook storm under gateway latency: the gateway's latency was injected (0 calls, "
        "drawn p50 0 ms)",
        "webhook storm under gateway latency: no errors (3 errors, 0 during the warm-up; "
        "statuses 200: 2497, 503: 3)",
        "webhook storm under gateway latency: no pool timeout (3 answers 503, 1 timeouts logged)",
        "webhook storm under gateway latency applied exactly once (one confirmation, charge, "
        "inbox row, seat booked and booking.confirmed event out per event sent)",
    ]
    with pytest.raises(SystemExit) as ended:
        finish(checks)
    assert ended.value.code == 1
