"""Each request's phases (entrypoints/http/request_phases.py), counted where they happen:
the waits in the admission line, first and again after Stripe, and the gateway call. No
timing: a manual clock moves while a request waits for an event the test sets."""

from __future__ import annotations

import asyncio

from entrypoints.http.admission import RequestAdmission, StepsOutForStripe
from entrypoints.http.request_phases import (
    ADMISSION_RETURN_WAIT,
    ADMISSION_WAIT,
    GATEWAY_CALL,
    PHASES,
    REST,
    RequestPhases,
    measuring,
)
from tests.fakes.clock import ManualSeconds
from tests.support.event_loop import settle
from tests.unit.test_request_admission import SlowStripe


async def test_the_waits_for_a_place_are_counted_for_the_request_that_waited() -> None:
    clock = ManualSeconds()
    admission = RequestAdmission(1, clock=clock)
    stripe = SlowStripe()
    gateway = StepsOutForStripe(stripe)
    first_may_leave = asyncio.Event()
    waited: dict[str, RequestPhases] = {}

    async def holder() -> None:
        with measuring() as phases:
            waited["holder"] = phases
            async with admission.admitted():
                await first_may_leave.wait()

    async def checkout() -> None:
        with measuring() as phases:
            waited["checkout"] = phases
            async with admission.admitted():
                await gateway.create_checkout_session("bk_1")

    holding = asyncio.create_task(holder())
    await settle()
    checking_out = asyncio.create_task(checkout())
    await settle()
    clock.now += 3.0  # the checkout waits 3 s in line for its first place
    first_may_leave.set()
    await stripe.asked.wait()
    await holding
    # While the checkout is out at Stripe, another request takes the one place.
    again = asyncio.Event()

    async def newcomer() -> None:
        async with admission.admitted():
            await again.wait()

    taking = asyncio.create_task(newcomer())
    await settle()
    stripe.answer.set()
    await settle()
    clock.now += 2.0  # back from Stripe, the checkout waits 2 s for a place again
    again.set()
    await asyncio.wait_for(asyncio.gather(checking_out, taking), 10)

    assert waited["holder"].seconds.get(ADMISSION_WAIT, 0.0) == 0.0
    assert waited["checkout"].seconds[ADMISSION_WAIT] == 3.0
    assert waited["checkout"].seconds[ADMISSION_RETURN_WAIT] == 2.0
    assert waited["checkout"].seconds[GATEWAY_CALL] > 0


def test_the_rest_is_what_the_counted_phases_leave_of_the_whole() -> None:
    phases = RequestPhases()
    phases.add(ADMISSION_WAIT, 0.25)
    phases.add(GATEWAY_CALL, 0.5)
    phases.add(GATEWAY_CALL, 0.25)

    split = phases.split(1.5)

    assert tuple(split) == PHASES
    assert split[GATEWAY_CALL] == 0.75
    assert split[REST] == 0.5
    assert sum(split.values()) == 1.5
