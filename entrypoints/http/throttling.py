"""429 with Retry-After past the per-client limits: checkouts, failed authentications."""

from __future__ import annotations

from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.rate_limits.limiter import RateLimits
from entrypoints.http.auth import FailureHook


class TooManyRequests(HTTPException):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail=detail, headers={"Retry-After": str(retry_after)})


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _is_checkout(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return (
        scope["type"] == ScopeType.HTTP
        and scope["method"] == "POST"
        and path.startswith("/v1/public/")
        and path.endswith("/checkout")
    )


def checkout_limit_middleware(limits: Callable[[], RateLimits]) -> Callable[[ASGIApp], ASGIApp]:
    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if _is_checkout(scope):
                wait = await limits().take_checkout(client_address(scope))
                if wait is not None:
                    raise TooManyRequests("too many checkouts from this address", wait)
            await app(scope, receive, send)

        return wrapped

    return middleware


def auth_failure_hooks(limits: Callable[[], RateLimits]) -> tuple[FailureHook, FailureHook]:
    """(before, on_failure) for the authentication middleware."""

    async def before(scope: Scope) -> None:
        wait = await limits().auth_refused(client_address(scope))
        if wait is not None:
            raise TooManyRequests("too many failed authentications from this address", wait)

    async def on_failure(scope: Scope) -> None:
        await limits().count_auth_failure(client_address(scope))

    return before, on_failure
