"""The booking token on the pages, checked as the API checks it: before each attempt the
client address must still be under its limit of failed authentications, and a wrong token
counts against it. The hooks are the API's own (entrypoints/http/throttling.py), on the
same limiter, so a guess on a page and a guess on the API count against one limit.

A page refused for too many guesses is a page in words (429 with Retry-After), as every
other refusal on the pages (entrypoints/web/errors.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Request

from adapters.rate_limits.limiter import RateLimits
from application.errors import NotFound
from entrypoints.http.auth import FailureHook
from entrypoints.http.throttling import (
    TooManyFailedAuthentications,
    TooManyRequests,
    auth_failure_hooks,
)

T = TypeVar("T")


class TooManyGuesses(TooManyFailedAuthentications):
    """Too many wrong booking tokens from this client address: wait `Retry-After` seconds."""


@dataclass(frozen=True, slots=True)
class BookingAccess:
    before: FailureHook
    on_failure: FailureHook

    @classmethod
    def on(cls, rate_limits: Callable[[], RateLimits]) -> BookingAccess:
        """With the API's hooks on the same limiter: one rule, counted in one place."""
        return cls(*auth_failure_hooks(rate_limits))

    async def __call__(
        self, request: Request[Any, Any, Any], attempt: Callable[[], Awaitable[T]]
    ) -> T:
        """`attempt` (a use case given the presented token), refused with TooManyGuesses
        past the limit; its NotFound (a wrong token, or no such booking) is counted."""
        try:
            await self.before(request.scope)
        except TooManyRequests as refused:
            raise TooManyGuesses(refused.detail, _retry_after(refused)) from None
        try:
            return await attempt()
        except NotFound:
            await self.on_failure(request.scope)
            raise


def _retry_after(refused: TooManyRequests) -> int:
    return int((refused.headers or {}).get("Retry-After", "60"))
