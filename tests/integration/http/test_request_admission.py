"""Bounded admission (issue 19): a worker works on at most BOOKPAY_MAX_REQUESTS_IN_FLIGHT
requests at once; the others wait in line, in arrival order, before their first statement,
instead of each taking a turn on the event loop and queueing on the connection pool, where
a connection in a transaction waited for the loop behind them and the pool's wait ran out.
No timing: the use case under the route waits for a gate the test opens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from dependency_injector import providers

from application.ports.gateway import WebhookEndpoint
from application.slot_queries import ListPublicOfferings
from entrypoints.fake_stripe_wiring import WEBHOOK_PATHS
from entrypoints.http.app import MAX_BODY_BYTES
from tests.support.http_app import BASE_URL, asgi_transport, build_test_app

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

    async def __call__(self, *_: Any, **__: Any) -> list[Any]:
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
    transport = asgi_transport(app)
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


async def test_slow_request_bodies_do_not_stall_the_other_requests(tmp_path: Path) -> None:
    """The review's attack: more clients than the bound each send a request body byte by
    byte and never finish. A request takes its place only once its body has arrived, so the
    others are answered, with the default settings."""
    app, container = build_test_app(tmp_path)
    bound = container.settings().max_requests_in_flight
    assert bound > 0  # the default bounds admission: else this proves nothing
    gated = GatedOfferings()
    gated.gate.set()
    container.list_public_offerings.override(providers.Object(gated))
    sending = 0
    as_many_as_places = asyncio.Event()
    finish = asyncio.Event()
    slow_clients = bound + 4

    async def byte_by_byte() -> AsyncIterator[bytes]:
        nonlocal sending
        yield b"{"
        sending += 1
        if sending == bound:
            as_many_as_places.set()
        await finish.wait()
        yield b"}"

    transport = asgi_transport(app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        slow = [
            asyncio.create_task(
                client.post(WEBHOOK_PATHS[WebhookEndpoint.PLATFORM], content=byte_by_byte())
            )
            for _ in range(slow_clients)
        ]
        try:
            async with asyncio.timeout(SAFETY_NET_SECONDS):
                await as_many_as_places.wait()
                for _ in range(200):  # every slow body that could be read by now is
                    await asyncio.sleep(0)
                listed = await client.get("/v1/public/any-studio/offerings")
                ready = await client.get("/health/ready")
        finally:
            finish.set()
            await asyncio.gather(*slow, return_exceptions=True)
    assert sending == slow_clients
    assert listed.status_code == 200
    assert (ready.status_code, ready.json()["waiting"]) == (200, 0)


async def test_a_request_that_gets_no_place_in_time_is_answered_503_and_readiness_says_stalled(
    tmp_path: Path,
) -> None:
    """The wait in line is bounded: behind a place that does not come free, a request is
    answered (503, retry later, nothing done) instead of waiting forever, and readiness
    says the line does not move until it does."""
    app, container = build_test_app(tmp_path, max_requests_in_flight=1, max_wait_in_line_ms=1)
    gated = GatedOfferings()
    container.list_public_offerings.override(providers.Object(gated))
    transport = asgi_transport(app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
        asyncio.timeout(SAFETY_NET_SECONDS),
    ):
        holder = asyncio.create_task(client.get("/v1/public/any-studio/offerings"))
        await gated.entered.wait()
        turned_away = await client.get("/v1/public/any-studio/offerings")
        stalled = await client.get("/health/ready")
        gated.gate.set()
        held = await holder
        ready = await client.get("/health/ready")

    assert turned_away.status_code == 503
    assert turned_away.headers["Retry-After"].isdecimal()
    assert turned_away.json()["type"] == "urn:bookpay:problem:busy"
    assert (stalled.status_code, stalled.json()) == (
        503,
        {"status": "stalled", "in_flight": 1, "waiting": 0},
    )
    assert held.status_code == 200
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ok", "in_flight": 0, "waiting": 0},
    )


async def test_a_body_over_the_size_limit_is_refused_without_waiting_for_a_place(
    tmp_path: Path,
) -> None:
    app, container = build_test_app(tmp_path, max_requests_in_flight=1)
    gated = GatedOfferings()
    container.list_public_offerings.override(providers.Object(gated))
    transport = asgi_transport(app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
        asyncio.timeout(SAFETY_NET_SECONDS),
    ):
        holder = asyncio.create_task(client.get("/v1/public/any-studio/offerings"))
        await gated.entered.wait()
        too_large = await client.post(
            WEBHOOK_PATHS[WebhookEndpoint.PLATFORM], content=b"x" * (MAX_BODY_BYTES + 1)
        )
        gated.gate.set()
        await holder

    assert too_large.status_code == 413
