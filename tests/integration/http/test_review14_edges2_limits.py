"""Issue 14, second review: the rate limits when Redis accepts connections and hangs.

A Redis that accepts connections and never answers held every request for 5–10 s (redis-py
waits 5 s to connect and 5 s for each answer, and retries). The limits now give up after a
short timeout, let the request through, and leave the store alone for a while.
"""

from __future__ import annotations

import asyncio
import logging
import socketserver
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.rate_limits.limiter import RETRY_STORE_SECONDS, RateLimits
from tests.support.app_client import AppClient
from tests.support.hard_edges import checkout_body, new_shop
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.servers import serve_in_thread


@dataclass
class HungRedis:
    """A TCP server, on threads of its own (the app may block the test's event loop), that
    reads what it is sent and never answers."""

    url: str = ""
    received: list[bytes] = field(default_factory=list)

    async def asked(self, more_than: int = 0) -> bool:
        """Whether more than `more_than` messages came (bytes take a moment to arrive)."""
        for _ in range(200):
            if len(self.received) > more_than:
                return True
            await asyncio.sleep(0.01)
        return False


@pytest.fixture
def hung_redis() -> Iterator[HungRedis]:
    hung = HungRedis()

    class Swallow(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            while data := self.request.recv(65536):
                hung.received.append(data)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Swallow)
    server.daemon_threads = True
    serve_in_thread(server)
    hung.url = f"redis://127.0.0.1:{server.server_address[1]}/0"
    try:
        yield hung
    finally:
        server.shutdown()
        server.server_close()


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
    caplog.set_level(logging.DEBUG, logger="bookpay.rate_limits")
    async with asyncio.timeout(30):  # a guard against a hang, not a measure
        assert await limits.take_checkout("203.0.113.7") is None
        # It was asked, and gave up on the timeout (the store's error path).
        assert await hung_redis.asked()
        assert [r.getMessage() for r in caplog.records] == [
            "rate limit store unavailable (TimeoutError); letting requests through,"
            " next warning in 60 s"
        ]

        # While it rests, nothing is asked of it (no more failures) and all is let through.
        assert await limits.take_checkout("203.0.113.7") is None
        assert await limits.auth_refused("203.0.113.7") is None
        await limits.count_auth_failure("203.0.113.7")
        assert await limits.count_held_seats("203.0.113.7", 5) is None
        assert len(caplog.records) == 1

        # Once the rest is over it is asked again, and gives up again.
        clock.now += RETRY_STORE_SECONDS + 1
        assert await limits.auth_refused("203.0.113.7") is None
        assert [r.getMessage() for r in caplog.records[1:]] == [
            "rate limit store still unavailable: TimeoutError"
        ]


def test_the_redis_client_waits_no_longer_than_the_setting_and_never_retries() -> None:
    """redis-py's own defaults: 5 s to connect, 5 s for each answer, retried: a hung Redis
    held a request 5–10 s. (Looked up in the client `limits` builds: timing it would be a
    timed assertion.)"""
    limits = RateLimits(
        checkouts_per_minute=1,
        auth_failures_per_minute=1,
        redis_url="redis://127.0.0.1:1/0",
        redis_timeout=0.07,
    )
    client = limits._limiter.storage.bridge.storage  # type: ignore[attr-defined]
    options = client.connection_pool.connection_kwargs
    assert options["socket_connect_timeout"] == 0.07
    assert options["socket_timeout"] == 0.07
    assert options["retry"].get_retries() == 0


async def test_with_a_hung_redis_the_api_answers_as_without_limits(
    hung_redis: HungRedis, tmp_path: Path
) -> None:
    """The settings reach the limits: a wrong key is 401 and a checkout 201, not a stall."""
    app, _ = build_test_app(
        tmp_path,
        redis_url=hung_redis.url,
        redis_timeout_ms=50,
        checkout_limit_per_minute=1,
        auth_failures_per_minute=1,
        held_seats_per_client_per_hour=1,
    )
    async with asyncio.timeout(60), AppClient(app=app, base_url=BASE_URL) as client:
        shop = await new_shop(client, capacity=5)
        wrong = {"Authorization": "Bearer bp_test_wrong"}
        for _ in range(3):  # past every limit: the store is not there to count
            assert (await client.get("/v1/tenant/offerings", headers=wrong)).status_code == 401
            checkout = await client.post(
                f"/v1/public/{shop.slug}/checkout", json=checkout_body(shop, seats=1)
            )
            assert checkout.status_code == 201, checkout.text
    assert await hung_redis.asked(), "the limits never asked the hung Redis"
