"""Bounded admission's order (entrypoints/http/admission.py): a request waiting for Stripe
does not hold its place, and when Stripe answers it comes back ahead of the requests that
have not started. No timing: each step waits for an event the test sets."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from entrypoints.http.admission import (
    NoPlaceInTime,
    RequestAdmission,
    StepsOutForStripe,
    admission_middleware,
)
from tests.fakes.clock import ManualSeconds
from tests.support.event_loop import settle

# Far beyond anything the test waits for: only a hang would reach it.
SAFETY_NET_SECONDS = 10


class SlowStripe:
    """A gateway whose answer waits for the test."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    async def create_checkout_session(self, booking_id: str) -> str:
        self.asked.set()
        await self.answer.wait()
        return f"cs_for_{booking_id}"


async def test_a_request_waiting_for_stripe_gives_its_place_and_comes_back_first() -> None:
    admission = RequestAdmission(1)
    stripe = SlowStripe()
    gateway = StepsOutForStripe(stripe)
    order: list[str] = []
    second_at_work = asyncio.Event()
    second_may_finish = asyncio.Event()

    async def checkout() -> str:
        async with admission.admitted():
            order.append("checkout starts")
            session: str = await gateway.create_checkout_session("bk_1")
            order.append("checkout attaches")
            return session

    async def second() -> None:
        async with admission.admitted():
            order.append("second starts")
            second_at_work.set()
            await second_may_finish.wait()
            order.append("second ends")

    async def third() -> None:
        async with admission.admitted():
            order.append("third starts")

    async with asyncio.timeout(SAFETY_NET_SECONDS):
        first = asyncio.create_task(checkout())
        await stripe.asked.wait()
        others = [asyncio.create_task(second())]
        await second_at_work.wait()  # the checkout's place went to the second request
        others.append(asyncio.create_task(third()))
        await settle()  # the third is in line: the one place is the second's
        stripe.answer.set()
        await settle()  # the checkout is back in line, ahead of the third
        second_may_finish.set()
        assert await first == "cs_for_bk_1"
        await asyncio.gather(*others)
    assert order == [
        "checkout starts",
        "second starts",
        "second ends",
        "checkout attaches",
        "third starts",
    ]
    assert admission.at_work == 0


async def test_outside_a_request_the_gateway_is_called_as_it_is() -> None:
    stripe = SlowStripe()
    stripe.answer.set()
    assert await StepsOutForStripe(stripe).create_checkout_session("bk_2") == "cs_for_bk_2"


async def test_a_request_cancelled_in_line_leaves_no_place_taken() -> None:
    admission = RequestAdmission(1)
    holding = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with admission.admitted():
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with admission.admitted():
            pass

    async with asyncio.timeout(SAFETY_NET_SECONDS):
        first = asyncio.create_task(holder())
        await holding.wait()
        waiting = asyncio.create_task(waiter())
        await settle()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        await first
    assert admission.at_work == 0


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RequestAdmission(-1)


def test_a_wait_in_line_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RequestAdmission(1, max_wait=0)


async def test_a_newcomer_that_gets_no_place_in_time_leaves_the_line_with_nothing_taken() -> None:
    admission = RequestAdmission(1, max_wait=0.01)
    holding = asyncio.Event()
    release = asyncio.Event()
    entered: list[str] = []

    async def holder() -> None:
        async with admission.admitted():
            holding.set()
            await release.wait()

    async with asyncio.timeout(SAFETY_NET_SECONDS):
        first = asyncio.create_task(holder())
        await holding.wait()
        with pytest.raises(NoPlaceInTime):
            async with admission.admitted():
                entered.append("the newcomer")
        assert (admission.at_work, admission.waiting) == (1, 0)
        release.set()
        await first
    assert entered == []
    assert admission.at_work == 0


async def test_the_line_is_stalled_while_requests_wait_and_no_place_came_free_for_the_bound() -> (
    None
):
    clock = ManualSeconds()
    admission = RequestAdmission(1, max_wait=5, clock=clock)
    holding = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with admission.admitted():
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with admission.admitted():
            pass

    async with asyncio.timeout(SAFETY_NET_SECONDS):
        first = asyncio.create_task(holder())
        await holding.wait()
        clock.now = 60.0
        assert not admission.stalled()  # every place taken, but no one waits
        waiting = asyncio.create_task(waiter())
        await settle()
        assert admission.waiting == 1
        # A line that formed a moment ago after a quiet spell is busy, not stalled (a
        # probe failing at the start of every burst would take idle replicas out).
        assert not admission.stalled()
        clock.now = 64.9
        assert not admission.stalled()
        clock.now = 65.0
        assert admission.stalled()
        release.set()
        await asyncio.gather(first, waiting)
        assert not admission.stalled()  # the line moved
    assert (admission.at_work, admission.waiting) == (0, 0)


def _post(path: str = "/v1/tenant/offerings") -> Any:
    return {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}


def _client_sends(*messages: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
    queue = deque(messages)

    async def receive() -> Any:
        return queue.popleft()

    return receive


async def _nothing_sent(message: Any) -> None:
    raise AssertionError(f"nothing was to be sent: {message}")


async def test_the_app_gets_the_whole_body_at_once_then_what_the_client_sends_next() -> None:
    admission = RequestAdmission(1)
    received: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        received.extend([await receive(), await receive()])
        assert admission.at_work == 1

    wrapped = admission_middleware(lambda: admission, max_body_bytes=10)(app)
    await wrapped(
        _post(),
        _client_sends(
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"c", "more_body": False},
            {"type": "http.disconnect"},
        ),
        _nothing_sent,
    )

    assert received == [
        {"type": "http.request", "body": b"abc", "more_body": False},
        {"type": "http.disconnect"},
    ]
    assert admission.at_work == 0


async def test_a_client_that_leaves_before_its_body_arrives_takes_no_place() -> None:
    admission = RequestAdmission(1)
    ran: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        ran.append(scope["path"])

    wrapped = admission_middleware(lambda: admission, max_body_bytes=10)(app)
    await wrapped(
        _post(),
        _client_sends(
            {"type": "http.request", "body": b"{", "more_body": True},
            {"type": "http.disconnect"},
        ),
        _nothing_sent,
    )

    assert ran == []
    assert (admission.at_work, admission.waiting) == (0, 0)


async def test_a_request_cancelled_in_line_just_before_a_place_comes_free_passes_its_turn() -> None:
    """A cancelled task's turn is cancelled at once, the task learns it only later: a
    place coming free in between skips the turn (the bench's wait bound did this under
    load, and each such request answered 500 instead of 503)."""
    admission = RequestAdmission(1)
    entered: list[str] = []

    async def waiter(name: str) -> None:
        async with admission.admitted():
            entered.append(name)

    async with asyncio.timeout(SAFETY_NET_SECONDS):
        async with admission.admitted():
            first = asyncio.create_task(waiter("first"))
            second = asyncio.create_task(waiter("second"))
            await settle()
            first.cancel()
        # Leaving the block handed the place on before the first task ran again.
        with pytest.raises(asyncio.CancelledError):
            await first
        await second
    assert entered == ["second"]
    assert (admission.at_work, admission.waiting) == (0, 0)
