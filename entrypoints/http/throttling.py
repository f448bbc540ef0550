"""429 with Retry-After past the per-client limits: checkouts, failed authentications."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Network, ip_address

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.rate_limits.limiter import RateLimits
from entrypoints.http.auth import FailureHook


class TooManyRequests(HTTPException):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail=detail, headers={"Retry-After": str(retry_after)})


IPV6_CLIENT_PREFIX = 64


def client_address(scope: Scope) -> str:
    """Who a per-address limit counts: an IPv4 address as it is (also when written as an
    IPv4-mapped IPv6 address), an IPv6 address by its /64 network (`2001:db8:1:2::/64`),
    since one subscriber is routed a whole /64 and picks any address in it; "unknown"
    without a client. Every per-address limit (checkouts, held seats, failed
    authentications, the booking pages) counts by this."""
    client = scope.get("client")
    if not client:
        return "unknown"
    try:
        address = ip_address(str(client[0]).split("%", 1)[0])
    except ValueError:  # not an IP address (a Unix socket, a test client's name)
        return str(client[0])
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))


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


class TooManyFailedAuthentications(TooManyRequests):
    """Too many wrong keys or booking tokens from this client address: even a right one
    waits `Retry-After` seconds."""


def auth_failure_hooks(limits: Callable[[], RateLimits]) -> tuple[FailureHook, FailureHook]:
    """(before, on_failure) for the authentication middleware."""

    async def before(scope: Scope) -> None:
        wait = await limits().auth_refused(client_address(scope))
        if wait is not None:
            raise TooManyFailedAuthentications(
                "too many failed authentications from this address", wait
            )

    async def on_failure(scope: Scope) -> None:
        await limits().count_auth_failure(client_address(scope))

    return before, on_failure
