"""Bounded admission: a worker process works on at most `max_requests_in_flight` requests at
once; the others wait in line, in arrival order, before any of their work (issue 19).

Without it, every request a worker accepted took its turns on the one event loop: under 256
concurrent customers the loop's queue was hundreds of tasks long, so a transaction that
already held a pooled connection waited that long for each of its round trips (PostgreSQL
saw the pool's connections "idle in transaction"), and requests queued behind them on the
pool ran out its wait (half the statement timeout) and answered 503. In line before their
first statement, excess requests cost the loop nothing, and those at work finish sooner.

A request waiting for Stripe is not at work: the gateway's calls step out of their place
(`StepsOutForStripe`) and come back ahead of the requests still in line, so a slow Stripe
does not shrink how many requests the worker serves, and a checkout holding seats is not
queued behind newcomers to attach its session. Health probes and the fake Stripe's pages are
never held in line (NEVER_HELD).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

# Health probes (a busy server is alive), and the fake Stripe's pages: they stand for
# Stripe's own servers and deliver webhooks to this one while they answer, so held in line
# a crowd of them would wait for their own webhooks.
NEVER_HELD = ("/health/", "/fake-stripe/")


@dataclass
class _Place:
    """The running request's place (shared by the tasks it starts)."""

    admission: RequestAdmission
    inside: bool = True


_place: ContextVar[_Place | None] = ContextVar("bookpay_admission_place", default=None)


class RequestAdmission:
    """At most `limit` requests at work at once in this process (0: no bound). Those
    waiting for a place get it first come, first served, those coming back from Stripe
    before those not started yet. ValueError for a negative limit."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"a negative bound on requests in flight: {limit}")
        self._limit = limit
        self._at_work = 0
        self._returning: deque[asyncio.Future[None]] = deque()
        self._arriving: deque[asyncio.Future[None]] = deque()

    @property
    def at_work(self) -> int:
        return self._at_work

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Within this block the request holds one place (waits for one first)."""
        if not self._limit:
            yield
            return
        await self._take(self._arriving)
        place = _Place(self)
        token = _place.set(place)
        try:
            yield
        finally:
            _place.reset(token)
            if place.inside:
                self._give()

    async def _take(self, line: deque[asyncio.Future[None]]) -> None:
        ahead = self._returning or (line is self._arriving and self._arriving)
        if self._at_work < self._limit and not ahead:
            self._at_work += 1
            return
        turn = asyncio.get_running_loop().create_future()
        line.append(turn)
        try:
            await turn  # a place handed over by _give: counted already
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._give()  # handed a place while being cancelled: pass it on
            else:
                line.remove(turn)
            raise

    def _give(self) -> None:
        """Hand a place over to the first in line, or free it."""
        for line in (self._returning, self._arriving):
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self._at_work -= 1


@asynccontextmanager
async def stepped_out() -> AsyncIterator[None]:
    """Within this block the running request does not count as at work (it waits on
    something else: Stripe); it comes back ahead of those not started yet. Nothing
    outside an admitted request, or when another task of it stepped out already."""
    place = _place.get()
    if place is None or not place.inside:
        yield
        return
    place.inside = False
    place.admission._give()
    try:
        yield
    finally:
        await place.admission._take(place.admission._returning)
        place.inside = True


class StepsOutForStripe:
    """The payment gateway, each of its calls made stepped out of the request's place."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inner!r})"

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        async def out_of_line(*args: Any, **kwargs: Any) -> Any:
            async with stepped_out():
                return await attribute(*args, **kwargs)

        return out_of_line


def admission_middleware(
    admission: Callable[[], RequestAdmission],
) -> Callable[[ASGIApp], ASGIApp]:
    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            path: str = scope.get("path", "")
            if scope["type"] != ScopeType.HTTP or path.startswith(NEVER_HELD):
                await app(scope, receive, send)
                return
            async with admission().admitted():
                await app(scope, receive, send)

        return wrapped

    return middleware
