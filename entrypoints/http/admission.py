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

A request takes its place only once its whole body has arrived (read here, bounded by the
app's body size limit, and replayed to the app): a client sending its body byte by byte
holds no place, so a crowd of them cannot stall the others (the review's attack, with 32
such clients, did while a place was held during the body). The wait in line is bounded
(`max_wait`): a request that gets no place in time is answered 503 with Retry-After, having
done nothing, rather than waiting forever behind places that do not come free; readiness
says not ready while that happens (`stalled`). Only the first wait is bounded: a request
coming back from Stripe holds seats and a session, and goes ahead of every newcomer.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

from adapters.around_calls import AroundEachCall
from entrypoints.http.errors import RETRY_AFTER_SECONDS, problem
from entrypoints.http.idempotency import read_body
from entrypoints.http.request_phases import (
    ADMISSION_RETURN_WAIT,
    ADMISSION_WAIT,
    GATEWAY_CALL,
    timed,
)

# Health probes (a busy server is alive), and the fake Stripe's pages: they stand for
# Stripe's own servers and deliver webhooks to this one while they answer, so held in line
# a crowd of them would wait for their own webhooks.
NEVER_HELD = ("/health/", "/fake-stripe/")

# Long enough for a line that moves (places come free as requests finish) to reach anyone,
# short enough that a client is answered before a proxy or a person gives up on it.
DEFAULT_MAX_WAIT_SECONDS = 5.0


class NoPlaceInTime(Exception):
    """No place came free within the wait bound: nothing of the request was done."""


@dataclass
class _Place:
    """The running request's place (shared by the tasks it starts)."""

    admission: RequestAdmission
    inside: bool = True


_place: ContextVar[_Place | None] = ContextVar("bookpay_admission_place", default=None)


class RequestAdmission:
    """At most `limit` requests at work at once in this process (0: no bound). Those
    waiting for a place get it first come, first served, those coming back from Stripe
    before those not started yet; a newcomer waits at most `max_wait` seconds. `clock`:
    seconds, monotonic. ValueError for a negative limit or a wait that is not positive."""

    def __init__(
        self,
        limit: int,
        max_wait: float = DEFAULT_MAX_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 0:
            raise ValueError(f"a negative bound on requests in flight: {limit}")
        if not max_wait > 0:
            raise ValueError(f"the wait in line must be positive: {max_wait}")
        self._limit = limit
        self._max_wait = max_wait
        self._clock = clock
        self._at_work = 0
        self._returning: deque[asyncio.Future[None]] = deque()
        self._arriving: deque[asyncio.Future[None]] = deque()
        self._last_freed = clock()  # a place last came free (handed over or given up)
        self._line_since = -math.inf  # the line (both lines) last became non-empty
        self._last_turned_away = -math.inf

    @property
    def bounded(self) -> bool:
        return self._limit > 0

    @property
    def at_work(self) -> int:
        return self._at_work

    @property
    def waiting(self) -> int:
        """Requests in line now (newcomers and those back from Stripe)."""
        return len(self._arriving) + len(self._returning)

    def stalled(self) -> bool:
        """Every place is taken and none has come free for the whole wait bound while
        requests waited: the line does not move, this process serves no newcomer."""
        if not self._limit or self._at_work < self._limit:
            return False
        someone_waited = self.waiting > 0 or self._last_turned_away > self._last_freed
        # Stuck since a place last came free or, after a quiet spell, since the line formed.
        stuck_since = max(self._last_freed, self._line_since)
        return someone_waited and self._clock() - stuck_since >= self._max_wait

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Within this block the request holds one place (waits for one first).
        NoPlaceInTime when none came free within the wait bound."""
        if not self._limit:
            yield
            return
        if not self._taken_at_once(self._arriving):
            with timed(ADMISSION_WAIT, self._clock):
                try:
                    async with asyncio.timeout(self._max_wait):
                        await self._wait_in(self._arriving)
                except TimeoutError:
                    self._last_turned_away = self._clock()
                    raise NoPlaceInTime(f"no place came free within {self._max_wait} s") from None
        place = _Place(self)
        token = _place.set(place)
        try:
            yield
        finally:
            _place.reset(token)
            if place.inside:
                self._give()

    async def _take(self, line: deque[asyncio.Future[None]]) -> None:
        if not self._taken_at_once(line):
            await self._wait_in(line)

    def _taken_at_once(self, line: deque[asyncio.Future[None]]) -> bool:
        """A free place taken, when there is one and no one is ahead in `line`."""
        ahead = self._returning or (line is self._arriving and self._arriving)
        if self._at_work < self._limit and not ahead:
            self._at_work += 1
            return True
        return False

    async def _wait_in(self, line: deque[asyncio.Future[None]]) -> None:
        turn = asyncio.get_running_loop().create_future()
        if not self.waiting:
            self._line_since = self._clock()
        line.append(turn)
        try:
            await turn  # a place handed over by _give: counted already
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._give()  # handed a place while being cancelled: pass it on
            elif turn in line:  # _give drops a cancelled turn it meets before this runs
                line.remove(turn)
            raise

    def _give(self) -> None:
        """Hand a place over to the first in line, or free it."""
        self._last_freed = self._clock()
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
        with timed(ADMISSION_RETURN_WAIT, place.admission._clock):
            await place.admission._take(place.admission._returning)
        place.inside = True


@asynccontextmanager
async def _out_of_line() -> AsyncIterator[None]:
    async with stepped_out():
        with timed(GATEWAY_CALL):
            yield


class StepsOutForStripe(AroundEachCall):
    """The payment gateway, each of its calls made stepped out of the request's place and
    timed as the request's GATEWAY_CALL (request_phases.py)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner, _out_of_line)


def admission_middleware(
    admission: Callable[[], RequestAdmission], *, max_body_bytes: int
) -> Callable[[ASGIApp], ASGIApp]:
    """Each request but NEVER_HELD takes a place once its body (at most `max_body_bytes`,
    else 413) has arrived; 503 problem with Retry-After when none came free in time."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            path: str = scope.get("path", "")
            line = admission()
            if scope["type"] != ScopeType.HTTP or path.startswith(NEVER_HELD) or not line.bounded:
                await app(scope, receive, send)
                return
            replay = await _body_read_first(scope, receive, max_body_bytes)
            if replay is None:
                return  # the client left before its body arrived: no one to answer
            try:
                async with line.admitted():
                    await app(scope, replay, send)
            except NoPlaceInTime as error:
                raise problem(
                    503,
                    f"The server is busy: {error}; nothing was done. Retry shortly.",
                    slug="busy",
                    headers={"Retry-After": RETRY_AFTER_SECONDS},
                ) from error

        return wrapped

    return middleware


async def _body_read_first(scope: Scope, receive: Receive, limit: int) -> Receive | None:
    """A `receive` that hands the app the whole request body, read now (BodyTooLarge past
    `limit` bytes), then whatever the client sends next (its disconnect); None when the
    client left before its body arrived."""
    left = False

    async def watched() -> ReceiveMessage:
        nonlocal left
        message = await receive()
        left = message["type"] == "http.disconnect"
        return message

    body = await read_body(scope, watched, limit)
    if left:
        return None
    replayed = False

    async def replay() -> ReceiveMessage:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return HTTPRequestEvent(type="http.request", body=body, more_body=False)

    return replay
