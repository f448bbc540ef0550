"""Issue 14, second review: the rate limits when Redis hangs, and which address they count.

A Redis that accepts connections and never answers held every request for 5–10 s (redis-py
waits without bound and retries ten times). The limits now give up after a short timeout,
let the request through, and leave the store alone for a while.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from adapters.rate_limits.limiter import RETRY_STORE_SECONDS, RateLimits


@dataclass
class HungRedis:
    """A TCP server that reads what it is sent and never answers."""

    url: str = ""
    received: list[bytes] = field(default_factory=list)


@pytest.fixture
async def hung_redis() -> AsyncIterator[HungRedis]:
    hung = HungRedis()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            hung.received.append(data)
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hung.url = f"redis://127.0.0.1:{port}/0"
    async with server:
        yield hung
        server.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_hung_redis_lets_the_request_through_and_is_left_alone_for_a_while(
    hung_redis: HungRedis, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    limits = RateLimits(
        checkouts_per_minute=1,
        auth_failures_per_minute=1,
        held_seats_per_hour=1,
        redis_url=hung_redis.url,
        redis_timeout=0.05,
        clock=clock,
    )
    caplog.set_level(logging.WARNING, logger="bookpay.rate_limits")
    async with asyncio.timeout(30):  # a guard against a hang, not a measure
        assert await limits.take_checkout("203.0.113.7") is None
        asked = len(hung_redis.received)
        # The store timed out: it was asked, and the warning names the timeout.
        assert asked >= 1
        assert "Timeout" in caplog.records[-1].getMessage()

        # While it rests, nothing is asked of it and every request is let through.
        assert await limits.take_checkout("203.0.113.7") is None
        assert await limits.auth_refused("203.0.113.7") is None
        await limits.count_auth_failure("203.0.113.7")
        assert await limits.take_held_seats("203.0.113.7", 5) is None
        await asyncio.sleep(0)
        assert len(hung_redis.received) == asked

        # Once the rest is over it is tried again (and gives up again).
        clock.now += RETRY_STORE_SECONDS + 1
        assert await limits.auth_refused("203.0.113.7") is None
        for _ in range(100):  # the bytes reach the server on another turn of the loop
            if len(hung_redis.received) > asked:
                break
            await asyncio.sleep(0.01)
        assert len(hung_redis.received) > asked
