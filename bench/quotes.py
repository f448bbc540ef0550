"""Fee quotes in-process: `FeePolicy.quote` calls per second, no HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.common import POLICY, PRICE, log
from domain.fees import FeeBearer, FeePolicy, RefundOnCancel, Tier, TierMode
from domain.money import Money


def measure_fee_quotes(seconds: float) -> dict[str, dict[str, float]]:
    """FeePolicy.quote calls per second, in this process, for a simple and a tiered policy."""
    policies = {
        "5 % + 0.30, customer pays": POLICY,
        "marginal tiers, split, min/max": FeePolicy(
            percent_bps=100,
            per_seat_fixed=Money(25, "usd"),
            tiers=(
                Tier(up_to=Money(10_000, "usd"), percent_bps=800),
                Tier(up_to=Money(50_000, "usd"), percent_bps=500, fixed=Money(50, "usd")),
                Tier(up_to=None, percent_bps=300),
            ),
            tier_mode=TierMode.MARGINAL,
            minimum=Money(100, "usd"),
            maximum=Money(5_000, "usd"),
            bearer=FeeBearer(5_000),
            refund_on_cancel=RefundOnCancel.NEVER,
        ),
    }
    results: dict[str, dict[str, float]] = {}
    for name, policy in policies.items():
        quote: Callable[[Money, int], object] = policy.quote
        count = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            for seats in range(1, 101):
                quote(PRICE, seats)
            count += 100
        elapsed = time.perf_counter() - started
        results[name] = {
            "quotes_per_second": count / elapsed,
            "us_per_quote": elapsed / count * 1e6,
        }
        log(f"fee quotes ({name}): {count / elapsed:,.0f}/s")
    return results
