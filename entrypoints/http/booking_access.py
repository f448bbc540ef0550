"""The booking token checked at the edge, like an API key: before the body is read and an
Idempotency-Key claimed, and every wrong token counted against the client address's limit
of failed authentications (429 past it), so that guessing tokens is as slow as guessing
keys and writes nothing.

The routes check the token again (they need the booking anyway); this check only refuses
early. A token of the wrong shape, or none, is left to the route's own 400 or 401.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from application.booking_queries import BookingQueries
from application.errors import NotFound
from entrypoints.http.auth import FailureHook

PREFIX = "/v1/public/bookings/"
MIN_TOKEN, MAX_TOKEN = 8, 200


def _presented_token(scope: Scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token", [])
    if tokens:
        return tokens[0]
    scheme, _, token = Headers.from_scope(scope).get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def booking_token_middleware(
    booking_queries: Callable[[], BookingQueries], *, before: FailureHook, on_failure: FailureHook
) -> Callable[[ASGIApp], ASGIApp]:
    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            path: str = scope.get("path", "")
            booking_id = path.removeprefix(PREFIX).partition("/")[0]
            token = _presented_token(scope) if scope["type"] == ScopeType.HTTP else None
            if (
                not path.startswith(PREFIX)
                or not booking_id
                or token is None
                or not MIN_TOKEN <= len(token) <= MAX_TOKEN
            ):
                await app(scope, receive, send)
                return
            await before(scope)
            try:
                await booking_queries().for_customer(booking_id, token)
            except NotFound:
                await on_failure(scope)
                raise
            await app(scope, receive, send)

        return wrapped

    return middleware
