"""A Stripe API stand-in for tests, reached through the SDK's own HTTP client hook.

`RecordingStripeHTTPClient` is given to `StripeClient(http_client=...)`: it records every
request the SDK sends (method, path, headers, decoded form) and answers from a
`StripeStandIn`, which keeps just enough state to behave like Stripe for Bookpay's calls —
built from the objects of `tests/support/stripe/fixtures3.json`, refusing any request Stripe's
OpenAPI spec would refuse, and replaying answers for a repeated Idempotency-Key. Faults
(timeouts, 5xx, 429, card errors…) can be queued in front of it.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe

from tests.support.stripe_objects import Answer, RecordedRequest, RefundEffect
from tests.support.stripe_stand_in import StripeStandIn

__all__ = ["Answer", "RecordedRequest", "RefundEffect", "StripeStandIn"]


# --- Faults ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeout:
    """The connection times out; with `after_processing`, Stripe did the work first."""

    after_processing: bool = False


@dataclass(frozen=True)
class HTTPFault:
    status: int
    type: str = "api_error"
    code: str | None = None
    message: str = "injected fault"
    headers: Mapping[str, str] = field(default_factory=dict)

    def answer(self) -> Answer:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        return self.status, {"error": error}


SERVER_ERROR = HTTPFault(500, "api_error", message="Something went wrong on Stripe's end.")
RATE_LIMITED = HTTPFault(429, "invalid_request_error", "rate_limit", "Too many requests.")
CARD_DECLINED = HTTPFault(402, "card_error", "card_declined", "Your card was declined.")
BAD_REQUEST = HTTPFault(400, "invalid_request_error", "parameter_invalid", "Invalid request.")
UNAUTHORIZED = HTTPFault(401, "invalid_request_error", None, "Invalid API Key provided.")
FORBIDDEN = HTTPFault(403, "invalid_request_error", None, "No access to that account.")
Fault = Timeout | HTTPFault


class RecordingStripeHTTPClient(stripe.HTTPClient):
    """The SDK's HTTP client interface, answering from a stand-in instead of the network."""

    name = "bookpay-recording"

    def __init__(self, stand_in: StripeStandIn) -> None:
        super().__init__()
        self.stand_in = stand_in
        self.requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()

    def inject(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, in order, before the stand-in."""
        self._faults.extend(faults)

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        request = RecordedRequest(method.upper(), url, dict(headers), post_data or "")
        self.requests.append(request)
        fault = self._faults.popleft() if self._faults else None
        if isinstance(fault, Timeout):
            if fault.after_processing:
                self.stand_in.handle(request)
            # What the SDK's own clients raise for a timeout.
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                "Unexpected error communicating with Stripe. (Network error: timed out)",
                should_retry=True,
            )
        status, body = fault.answer() if fault else self.stand_in.handle(request)
        response_headers = {"Request-Id": f"req_{len(self.requests)}"}
        if fault:
            response_headers |= dict(fault.headers)
        return json.dumps(body).encode(), status, response_headers

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the gateway only uses the async client")

    async def sleep_async(self, secs: float) -> None:
        return None

    async def close_async(self) -> None:
        return None

    def close(self) -> None:
        return None
