"""Where each request's time went, phase by phase, counted per request for /metrics.

A request's time is its waits (for a place in the admission line, first and again after
Stripe; for a pooled database connection), its units of work, its calls to the payment
gateway, and the rest (its own Python, its turns on the event loop, reading and answering).
Each part is timed where it happens (admission.py, the unit of work's factory), added up
for the running request here, and observed once per request by the metrics middleware
(operations.py), so a histogram's sum over its count is a mean per request and its buckets
bound a percentile, with no inference from averages (issue 19).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from adapters.sql.unit_of_work import CONNECTION_WAIT as CONNECTION_WAIT
from adapters.sql.unit_of_work import UNIT_OF_WORK as UNIT_OF_WORK

ADMISSION_WAIT = "admission_wait"
ADMISSION_RETURN_WAIT = "admission_return_wait"
GATEWAY_CALL = "gateway_call"
REST = "rest"
# In the order a checkout meets them; REST is what the request's whole time leaves.
PHASES = (
    ADMISSION_WAIT,
    CONNECTION_WAIT,
    UNIT_OF_WORK,
    GATEWAY_CALL,
    ADMISSION_RETURN_WAIT,
    REST,
)


@dataclass
class RequestPhases:
    """Seconds per phase so far in one request (shared by the tasks it starts)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def split(self, whole: float) -> dict[str, float]:
        """Every phase of PHASES (0 when not met), REST being `whole` less the others."""
        parts = {phase: self.seconds.get(phase, 0.0) for phase in PHASES if phase != REST}
        parts[REST] = max(whole - sum(parts.values()), 0.0)
        return parts


_current: ContextVar[RequestPhases | None] = ContextVar("bookpay_request_phases", default=None)


def record(phase: str, seconds: float) -> None:
    """Count `seconds` of `phase` for the running request (nothing outside a request)."""
    phases = _current.get()
    if phases is not None:
        phases.add(phase, seconds)


@contextmanager
def timed(phase: str, clock: Callable[[], float] = time.perf_counter) -> Iterator[None]:
    """The block's time counted as `phase` of the running request."""
    started = clock()
    try:
        yield
    finally:
        record(phase, clock() - started)


@contextmanager
def measuring() -> Iterator[RequestPhases]:
    """A request's phases, counted within the block."""
    phases = RequestPhases()
    token = _current.set(phases)
    try:
        yield phases
    finally:
        _current.reset(token)
