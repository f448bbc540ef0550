"""Pace a process's calls to the payment gateway: the webhook queue's worker stays under
Stripe's rate limit per endpoint, however many events wait (aiolimiter's leaky bucket).

Only the gateway's network calls wait their turn; reading a webhook body costs no call, and
neither does an event the inbox answers `duplicate`, since no call is made for it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from aiolimiter import AsyncLimiter

from adapters.around_calls import AroundEachCall


def calls_per_second(rate: float) -> AsyncLimiter:
    """`rate` calls a second, evenly spaced: a bucket of one call that drains every
    1/`rate` seconds, so no burst ever goes over the rate within a second."""
    if rate <= 0:
        raise ValueError("a pace needs a positive rate; leave an unpaced gateway unwrapped")
    return AsyncLimiter(1, 1 / rate)


class PacedGateway(AroundEachCall):
    """The gateway, each call made once `limiter` lets it through (any async context
    manager: `calls_per_second(rate)`, or a test's counter)."""

    def __init__(self, inner: Any, limiter: AbstractAsyncContextManager[Any]) -> None:
        super().__init__(inner, lambda: limiter)
