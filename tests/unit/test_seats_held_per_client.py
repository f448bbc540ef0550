"""The seats one client address holds of one slot, counted by the `limits` library
(application/ports/client_holds.py, adapters/rate_limits/limiter.py)."""

from __future__ import annotations

from datetime import timedelta

from adapters.rate_limits.limiter import RateLimits
from application.ports.client_holds import SeatsHeldPerClient

HOLD = timedelta(minutes=30)


async def test_one_address_holds_at_most_so_many_seats_of_one_slot() -> None:
    seats: SeatsHeldPerClient = RateLimits(checkouts_per_minute=0, auth_failures_per_minute=0)

    assert await seats.take("203.0.113.7", "sl_1", 3, 5, HOLD) is None
    assert await seats.take("203.0.113.7", "sl_1", 2, 5, HOLD) is None
    wait = await seats.take("203.0.113.7", "sl_1", 1, 5, HOLD)
    # Another slot, and another address, have counts of their own.
    other_slot = await seats.take("203.0.113.7", "sl_2", 5, 5, HOLD)
    other_address = await seats.take("203.0.113.8", "sl_1", 5, 5, HOLD)

    assert wait is not None
    assert 0 < wait <= HOLD.total_seconds()
    assert (other_slot, other_address) == (None, None)


async def test_a_refused_take_counts_nothing() -> None:
    seats = RateLimits(checkouts_per_minute=0, auth_failures_per_minute=0)

    assert await seats.take("203.0.113.7", "sl_1", 4, 5, HOLD) is None
    assert await seats.take("203.0.113.7", "sl_1", 2, 5, HOLD) is not None
    assert await seats.take("203.0.113.7", "sl_1", 1, 5, HOLD) is None
