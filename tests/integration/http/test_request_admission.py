"""Bounded admission (issue 19): a worker works on at most BOOKPAY_MAX_REQUESTS_IN_FLIGHT
requests at once; the others wait in line, in arrival order, before their first statement,
instead of each taking a turn on the event loop and queueing on the connection pool, where
a connection in a transaction waited for the loop behind them and the pool's wait ran out.
No timing: the use case under the route waits for a gate the test opens."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from dependency_injector import providers

from application.slot_queries import ListPublicOfferings
from tests.support.http_app import BASE_URL, build_test_app

# Far beyond anything the test waits for: only a hang would reach it.
SAFETY_NET_SECONDS = 10
REQUESTS = 6


class GatedOfferings(ListPublicOfferings):
    """A public offerings listing that counts who is inside and waits for the gate (a
    ListPublicOfferings: the route's signature checks its dependencies' types)."""

    def __init__(self) -> None:  # no database: it lists nothing
        self.inside = 0
        self.most_inside = 0
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, *_: Any, **__: Any) -> list[Any]:  # type: ignore[override]
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        self.entered.set()
        try:
            await self.gate.wait()
        finally:
            self.inside -= 1
        return []


async def _crowd(tmp_path: Path, *also: str, **settings: Any) -> tuple[GatedOfferings, list[int]]:
    """REQUESTS listings at once; the gate opens once the line has settled, after the
    paths `also` were asked (and answered) while it was closed."""
    app, container = build_test_app(tmp_path, **settings)
    gated = GatedOfferings()
    container.list_public_offerings.override(providers.Object(gated))
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
        asyncio.timeout(SAFETY_NET_SECONDS),
    ):
        answers = [
            asyncio.create_task(client.get("/v1/public/any-studio/offerings"))
            for _ in range(REQUESTS)
        ]
        await gated.entered.wait()
        for _ in range(200):  # every request that could get in by now has
            await asyncio.sleep(0)
        for path in also:
            await client.get(path)
        gated.gate.set()
        return gated, [(await answer).status_code for answer in answers]


async def test_requests_beyond_the_bound_wait_in_line_and_are_all_answered(
    tmp_path: Path,
) -> None:
    gated, statuses = await _crowd(tmp_path, max_requests_in_flight=2)
    assert gated.most_inside == 2
    assert statuses == [200] * REQUESTS


async def test_zero_means_no_bound(tmp_path: Path) -> None:
    gated, statuses = await _crowd(tmp_path, max_requests_in_flight=0)
    assert gated.most_inside == REQUESTS
    assert statuses == [200] * REQUESTS


async def test_health_probes_and_the_fake_stripes_pages_are_never_held_in_line(
    tmp_path: Path,
) -> None:
    """A probe must see a busy server as alive; the fake Stripe stands for Stripe's own
    servers, and its pages deliver webhooks to this server while they are answered (held
    in line, a crowd of them would wait for their own webhooks)."""
    gated, statuses = await _crowd(
        tmp_path, "/health/live", "/fake-stripe/checkout/cs_none", max_requests_in_flight=1
    )
    assert gated.most_inside == 1
    assert statuses == [200] * REQUESTS
