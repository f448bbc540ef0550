"""Where the fake Stripe's answers spend their time, for the benchmark (issue 19).

Under load a call to the fake takes more than its injected latency: it waits for a
connection of its own pool, then holds it while its statements run (each answer waiting for
the event loop), and runs its own Python in between. Real Stripe costs Bookpay none of the
fake's database work, so the benchmark splits each call into those parts, to tell the fake's
share of a checkout's time from Bookpay's. The sums are this process's since it started
(GET /fake-stripe/timings); a reader subtracts two readings.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from typing import TypeVar

from adapters.fake_stripe.latency import Sleep

Connection = TypeVar("Connection")
# Each call's delay and whole time are kept too, for percentiles over one load: the last
# MAX_SAMPLES calls' at most, so that a fake left running for days does not grow without end.
MAX_SAMPLES = 200_000


@dataclass
class _Call:
    slept: float = 0.0
    pool_wait: float = 0.0
    holding: float = 0.0
    connections: int = 0


# The gateway call the running task is in (each request is its own task).
_current_call: ContextVar[_Call | None] = ContextVar("fake_stripe_call", default=None)


@dataclass
class FakeStripeTimings:
    """Sums, in seconds, over the fake's calls that take the injected latency (creating,
    retrieving and expiring a session, refunding): their whole time; the delay drawn for
    them; the wait for a connection of the fake's pool (a free one, or a new one opened);
    the time a connection was held (statements, their answers, the commit). Connections
    taken outside such a call (hosted pages, deliveries) are not counted. `clock`: seconds,
    monotonic."""

    clock: Callable[[], float] = field(default=time.perf_counter, repr=False, compare=False)
    calls: int = 0
    call_seconds: float = 0.0
    injected_seconds: float = 0.0
    pool_wait_seconds: float = 0.0
    holding_seconds: float = 0.0
    connections: int = 0
    # Per call, in call order: the delay drawn, and the whole call (seconds).
    injected_samples: list[float] = field(default_factory=list, repr=False, compare=False)
    call_samples: list[float] = field(default_factory=list, repr=False, compare=False)
    # How many of the first calls' samples were forgotten (MAX_SAMPLES).
    dropped_samples: int = field(default=0, repr=False, compare=False)

    @asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """One call of the gateway: its whole time, and the parts recorded within it."""
        parts = _Call()
        token = _current_call.set(parts)
        started = self.clock()
        try:
            yield
        finally:
            _current_call.reset(token)
            whole = self.clock() - started
            self.calls += 1
            self.call_seconds += whole
            self.injected_samples.append(parts.slept)
            self.call_samples.append(whole)
            if len(self.call_samples) > MAX_SAMPLES:
                # Forget the older half at once (not one by one): call `dropped_samples`
                # is the first kept.
                half = MAX_SAMPLES // 2
                del self.injected_samples[:half], self.call_samples[:half]
                self.dropped_samples += half
            self.injected_seconds += parts.slept
            self.pool_wait_seconds += parts.pool_wait
            self.holding_seconds += parts.holding
            self.connections += parts.connections

    def recording(self, sleep: Sleep) -> Sleep:
        """`sleep`, counting the delay it is asked for as the running call's injected one."""

        async def sleep_and_record(seconds: float) -> None:
            parts = _current_call.get()
            if parts is not None:
                parts.slept += seconds
            await sleep(seconds)

        return sleep_and_record

    @asynccontextmanager
    async def connection(
        self, opening: AbstractAsyncContextManager[Connection]
    ) -> AsyncIterator[Connection]:
        """`opening` (a pool's connection, or a transaction on one) entered and left, its
        wait and its holding counted for the running call."""
        asked = got = self.clock()
        try:
            async with opening as connection:
                got = self.clock()
                yield connection
        finally:
            parts = _current_call.get()
            if parts is not None:
                parts.connections += 1
                parts.pool_wait += got - asked
                parts.holding += self.clock() - got

    def reading(self) -> dict[str, float]:
        """The sums so far (their names as the fields'; the clock and samples left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.compare}

    def samples(self, since: int = 0) -> dict[str, list[float]]:
        """Each call's injected delay and whole time (seconds), from the `since`-th call
        on (a reading's `calls` before a load gives that load's), of the last MAX_SAMPLES
        calls at most: calls forgotten already are left out."""
        kept_from = max(since - self.dropped_samples, 0)
        return {
            "injected_seconds": self.injected_samples[kept_from:],
            "call_seconds": self.call_samples[kept_from:],
        }
