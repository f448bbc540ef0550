"""How long the fake Stripe takes to answer: nothing by default, or Stripe-like delays.

Stripe's API answers in a median of some hundred milliseconds with a long tail. A fake that
answers at once makes every measurement of a checkout look faster than it can be in
production, so the benchmarks give the fake a latency: a log-normal delay with the
median and 99th percentile given (BOOKPAY_FAKE_STRIPE_LATENCY_MS="p50" or "p50,p99";
without a p99, the tail reaches four times the median).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

# The 99th percentile of the standard normal distribution.
_Z99 = 2.3263478740408408
DEFAULT_TAIL = 4.0

Sleep = Callable[[float], Awaitable[None]]


class InvalidLatency(ValueError):
    """A latency setting that is not "p50" or "p50,p99" in whole milliseconds."""


@dataclass(frozen=True)
class FakeLatency:
    """A delay before the fake answers: median `p50_ms`, 99th percentile `p99_ms`.

    `p50_ms` 0 means no delay at all (the default). `sleep` and `rng` are injectable
    so tests can observe the delays without waiting for them.
    """

    p50_ms: float = 0.0
    p99_ms: float = 0.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False, repr=False)
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.p50_ms < 0 or self.p99_ms < 0:
            raise InvalidLatency("latencies are not negative")
        if self.p50_ms and self.p99_ms < self.p50_ms:
            raise InvalidLatency("the 99th percentile is not below the median")

    @classmethod
    def parse(
        cls, text: str | None, *, sleep: Sleep = asyncio.sleep, rng: random.Random | None = None
    ) -> FakeLatency:
        """`"120"` (median 120 ms, p99 480 ms), `"120,900"`, or empty/None/"0": none.
        InvalidLatency otherwise."""
        parts = [part.strip() for part in (text or "").split(",") if part.strip()]
        if len(parts) > 2 or not all(part.isdecimal() for part in parts):
            raise InvalidLatency(f"expected 'p50' or 'p50,p99' in milliseconds, not {text!r}")
        p50 = float(parts[0]) if parts else 0.0
        p99 = float(parts[1]) if len(parts) == 2 else p50 * DEFAULT_TAIL
        return cls(p50, p99, sleep=sleep, rng=rng or random.Random())  # noqa: S311 (not a secret)

    @property
    def enabled(self) -> bool:
        return self.p50_ms > 0

    def draw_seconds(self) -> float:
        """One delay, in seconds, from the log-normal distribution of the settings."""
        if not self.enabled:
            return 0.0
        sigma = math.log(self.p99_ms / self.p50_ms) / _Z99
        return self.rng.lognormvariate(math.log(self.p50_ms), sigma) / 1000

    async def wait(self) -> None:
        """Sleep for one drawn delay (no call at all when disabled)."""
        if self.enabled:
            await self.sleep(self.draw_seconds())
