"""Calling Stripe: the official SDK's async client, pinned to one API version, with our retries.

Requests are pinned to API version 2023-08-16, the version of the OpenAPI spec the tests
validate every request against. Retries are tenacity's, not the SDK's: the SDK does not
retry a 429, and our delays must be configurable so tests do not sleep; each retry sends the
same Idempotency-Key, so Stripe applies a write at most once (Stripe: "Idempotent requests").
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import stripe
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from adapters.stripe.errors import application_error, is_retryable

STRIPE_API_VERSION = "2023-08-16"
DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0)

logger = logging.getLogger("adapters.stripe.gateway")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class StripeCalls:
    """One Stripe client and how every request goes out: retried on what Stripe says may be
    retried, Stripe's errors turned into the application's, lists read page after page."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None,
        http_client: stripe.HTTPClient | None,
        retry_delays: Sequence[float],
        sleep: Sleep,
        timeout_seconds: float,
    ) -> None:
        self._http_client = http_client or stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            http_client=self._http_client,
            base_addresses={"api": api_base} if api_base else None,
            stripe_version=STRIPE_API_VERSION,
            max_network_retries=0,
        )
        self._retry_delays = tuple(retry_delays)
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._http_client.close_async()  # type: ignore[no-untyped-call]

    async def _call(self, name: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one Stripe request with bounded retries; each retry repeats it unchanged."""
        delays = self._retry_delays

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.warning(
                "stripe %s failed (%s, HTTP %s); retry %d in %.2fs",
                name,
                type(error).__name__,
                getattr(error, "http_status", None),
                state.attempt_number,
                state.upcoming_sleep,
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception(
                lambda error: isinstance(error, stripe.StripeError) and is_retryable(error)
            ),
            stop=stop_after_attempt(len(delays) + 1),
            # tenacity asks for the wait before it checks `stop`: past the last delay, none.
            wait=lambda state: (delays[state.attempt_number - 1 :] or (0.0,))[0],
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )

        async def once() -> T:
            return await operation()

        try:
            return await retrying(once)
        except stripe.StripeError as error:
            raise application_error(error) from error

    @staticmethod
    def _options(
        *, idempotency_key: str | None = None, stripe_account: str | None = None
    ) -> stripe.RequestOptions:
        options: stripe.RequestOptions = {}
        if idempotency_key is not None:
            options["idempotency_key"] = idempotency_key
        if stripe_account is not None:
            options["stripe_account"] = stripe_account
        return options

    @staticmethod
    def _plain(obj: stripe.StripeObject) -> dict[str, Any]:
        return obj.to_dict()

    async def _every(
        self, name: str, page: Callable[[str | None], Awaitable[Any]]
    ) -> list[dict[str, Any]]:
        """Every object of a Stripe list, page after page (`starting_after`)."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            listed = await self._call(name, functools.partial(page, after))
            data = [self._plain(obj) for obj in listed.data]
            found += data
            if not listed.has_more or not data:
                return found
            after = str(data[-1]["id"])
