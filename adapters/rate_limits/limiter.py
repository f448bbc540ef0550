"""Rate limits per client address, with the `limits` library: in this process's memory, or
in Redis when a URL is given, so that every worker and host counts against one limit.

A limit of 0 is off. When Redis cannot be reached the request is let through and a warning
logged, one per WARN_EVERY_SECONDS (not a traceback per request): the limits guard against
abuse, they must not take the API down with them, nor flood the log. A Redis that accepts
connections but does not answer costs a request at most `redis_timeout` seconds (connect
and read, no retries); after a failure the store is left alone for RETRY_STORE_SECONDS, so
a sick Redis slows one request in that time, not every one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from limits import (
    RateLimitItem,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger("bookpay.rate_limits")
WARN_EVERY_SECONDS = 60.0
RETRY_STORE_SECONDS = 5.0
DEFAULT_REDIS_TIMEOUT_SECONDS = 0.25


def _storage(redis_url: str | None, timeout: float) -> Storage:
    if not redis_url:
        storage = storage_from_string("async+memory://")
    else:
        # Imported here: redis-py costs each server process memory (bench/findings.md),
        # and a deployment without Redis never needs it.
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # redis-py's own defaults wait 5 s to connect and 5 s for each answer, and retry:
        # a hung Redis held every request for as long.
        options: dict[str, Any] = {
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
            "retry": Retry(NoBackoff(), 0),
        }
        # `limits` names its async Redis backends "async+redis://…"; redis-py does the talking.
        storage = storage_from_string(f"async+{redis_url}", implementation="redispy", **options)
    if not isinstance(storage, Storage):  # an "async+" scheme always gives an async storage
        raise TypeError(f"not an asyncio rate-limit storage: {type(storage).__name__}")
    return storage


class RateLimits:
    """Checkouts and failed authentications, each per client address per minute, and
    seats put on hold per client address per hour (each checkout costs its seats), and per
    client address and slot (`take`).

    `redis_timeout`: seconds to connect to Redis and to wait for each answer;
    `clock`: monotonic seconds (tests pass their own)."""

    def __init__(
        self,
        *,
        checkouts_per_minute: int,
        auth_failures_per_minute: int,
        held_seats_per_hour: int = 0,
        slot_share_per_client: bool = True,
        redis_url: str | None = None,
        namespace: str = "bookpay",
        redis_timeout: float = DEFAULT_REDIS_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(_storage(redis_url, redis_timeout))
        self._clock = clock
        self._store_down_until: float | None = None
        self._checkouts = _per_minute(checkouts_per_minute)
        self._auth_failures = _per_minute(auth_failures_per_minute)
        self._held_seats = (
            RateLimitItemPerHour(held_seats_per_hour) if held_seats_per_hour else None
        )
        self._slot_share = slot_share_per_client
        self._namespace = namespace
        self._warned_at: float | None = None

    async def take_checkout(self, client: str) -> int | None:
        """Count one checkout; None when allowed, else the seconds to wait before another."""
        if self._checkouts is None:
            return None
        return await self._hit(self._checkouts, "checkout", client)

    async def held_seats_refused(self, client: str, seats: int) -> int | None:
        """None while `seats` more stay within the client's hourly count of held seats,
        else the seconds to wait. Counts nothing: a checkout counts its seats once it holds
        them (`count_held_seats`), so a refused one costs the address nothing."""
        if self._held_seats is None:
            return None
        return await self._refused(self._held_seats, "held-seats", client, cost=seats)

    async def count_held_seats(self, client: str, seats: int) -> int | None:
        """Count `seats` the client put on hold; None when within the hourly count, else the
        seconds to wait (two checkouts racing past `held_seats_refused` may overshoot it)."""
        if self._held_seats is None:
            return None
        return await self._hit(self._held_seats, "held-seats", client, cost=seats)

    async def take(
        self, client: str, slot_id: str, seats: int, most: int, window: timedelta
    ) -> int | None:
        """SeatsHeldPerClient (application/ports/client_holds.py): `seats` put on hold on
        `slot_id` by `client`, at most `most` within a moving `window`; None when allowed,
        else the seconds to wait. A tenant who wants one client to hold more raises its
        offering's max_seats_per_booking, which `most` follows; `slot_share_per_client=False`
        counts nothing (a deployment whose customers share one address it cannot tell apart)."""
        if not self._slot_share:
            return None
        item = RateLimitItemPerSecond(most, max(1, math.ceil(window.total_seconds())))
        return await self._hit(item, "slot-seats", f"{client} {slot_id}", cost=seats)

    async def auth_refused(self, client: str) -> int | None:
        """None while this client may still try to authenticate, else seconds to wait."""
        if self._auth_failures is None:
            return None
        return await self._refused(self._auth_failures, "auth-failure", client)

    async def count_auth_failure(self, client: str) -> None:
        if self._auth_failures is not None:
            await self._hit(self._auth_failures, "auth-failure", client)

    async def _refused(
        self, item: RateLimitItem, kind: str, client: str, cost: int = 1
    ) -> int | None:
        """Like `_hit`, but counting nothing: None while `cost` more fit, else seconds to wait."""
        ids = (self._namespace, kind, client)
        if self._store_resting():
            return None
        try:
            if await self._limiter.test(item, *ids, cost=cost):
                return None
            return await self._retry_after(item, ids)
        except Exception as error:  # an unreachable store must not refuse everyone
            self._store_unavailable(error)
            return None

    async def _hit(self, item: RateLimitItem, kind: str, client: str, cost: int = 1) -> int | None:
        ids = (self._namespace, kind, client)
        if self._store_resting():
            return None
        try:
            if await self._limiter.hit(item, *ids, cost=cost):
                return None
            return await self._retry_after(item, ids)
        except Exception as error:  # an unreachable store must not refuse everyone
            self._store_unavailable(error)
            return None

    def _store_resting(self) -> bool:
        """True while a failed store is left alone (requests let through)."""
        return self._store_down_until is not None and self._clock() < self._store_down_until

    def _store_unavailable(self, error: Exception) -> None:
        now = self._clock()
        self._store_down_until = now + RETRY_STORE_SECONDS
        if self._warned_at is not None and now - self._warned_at < WARN_EVERY_SECONDS:
            log.debug("rate limit store still unavailable: %s", type(error).__name__)
            return
        self._warned_at = now
        log.warning(
            "rate limit store unavailable (%s); letting requests through, next warning in %g s",
            type(error).__name__,
            WARN_EVERY_SECONDS,
        )

    async def _retry_after(self, item: RateLimitItem, ids: tuple[str, ...]) -> int:
        stats = await self._limiter.get_window_stats(item, *ids)
        return max(1, math.ceil(stats.reset_time - time.time()))


def _per_minute(limit: int) -> RateLimitItem | None:
    return RateLimitItemPerMinute(limit) if limit > 0 else None
