"""Wrap an object so each of its coroutine methods runs inside a context: the decorators of
the payment gateway (paced to Stripe's rate limit, adapters/rate_limits/pacing.py; stepped
out of the request's place, entrypoints/http/admission.py) differ only in that context.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any


class AroundEachCall:
    """`inner`, each coroutine method awaited inside a fresh `around()`; every other
    attribute (plain methods such as reading a webhook body) is `inner`'s own."""

    def __init__(self, inner: Any, around: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._inner = inner
        self._around = around

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inner!r})"

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        async def around_call(*args: Any, **kwargs: Any) -> Any:
            async with self._around():
                return await attribute(*args, **kwargs)

        return around_call
