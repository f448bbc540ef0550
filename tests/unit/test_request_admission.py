"""Bounded admission's order (entrypoints/http/admission.py): a request waiting for Stripe
does not hold its place, and when Stripe answers it comes back ahead of the requests that
have not started. No timing: each step waits for an event the test sets."""

from __future__ import annotations

import asyncio

import pytest

from entrypoints.http.admission import RequestAdmission, StepsOutForStripe

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


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


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
        await _settle()  # the third is in line: the one place is the second's
        stripe.answer.set()
        await _settle()  # the checkout is back in line, ahead of the third
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
        await _settle()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        await first
    assert admission.at_work == 0


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RequestAdmission(-1)
