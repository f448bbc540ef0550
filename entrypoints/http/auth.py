"""Who is calling: the platform admin, a tenant (by API key), or nobody (public).

`authentication_middleware` checks the credentials of /v1/admin and /v1/tenant requests
before anything else reads the request (body, idempotency key): a request with wrong
credentials is answered 401 having written nothing, and each failure counts against the
client address's limit (429 past it). Every request declares its scope of PostgreSQL's
row-level security here (adapters/sql/row_scope.py): platform-wide until its caller is known
(the admin, webhooks, public routes and pages find their tenant by slug, id or token), and a
tenant's request then runs in that tenant's scope: a second wall behind every query's own
tenant filter.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.sql.row_scope import acting_for_platform, acting_for_tenant
from application.errors import Unauthorized
from application.tenant_queries import TenantQueries
from domain.tenant import Tenant

ADMIN_PATH = "/v1/admin"
TENANT_PATH = "/v1/tenant"
AUTH_SCOPE_KEY = "bookpay_caller"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: `admin`, a tenant, or nobody (`tenant` None, `admin` False)."""

    admin: bool = False
    tenant: Tenant | None = None

    @property
    def scope(self) -> str:
        """Whose idempotency keys and rate limits the request counts against."""
        if self.admin:
            return "admin"
        if self.tenant is not None:
            return f"tenant:{self.tenant.id}"
        return "public"


def _token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <key>'")
    return token.strip()


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return _token(connection.headers.get("authorization", ""))


def check_admin_key(presented: str, configured: str | None) -> None:
    """Constant-time comparison; with no admin key configured nobody is admin."""
    if not configured or not hmac.compare_digest(presented.encode(), configured.encode()):
        raise Unauthorized("the admin key is not valid")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def caller_of(scope: Scope) -> Caller:
    """The caller the authentication middleware recognised (public when none)."""
    caller = scope.get(AUTH_SCOPE_KEY)
    return caller if isinstance(caller, Caller) else Caller()


FailureHook = Callable[[Scope], Awaitable[None]]


async def _no_hook(_: Scope) -> None:
    return None


def authentication_middleware(
    tenant_queries: Callable[[], TenantQueries],
    admin_api_key: str | None,
    *,
    before: FailureHook = _no_hook,
    on_failure: FailureHook = _no_hook,
) -> Callable[[ASGIApp], ASGIApp]:
    """`before` may refuse a client (e.g. too many failures); `on_failure` counts one."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            # Who the caller is, and any public route, is looked up across tenants.
            with acting_for_platform():
                await authenticated(scope, receive, send)

        async def authenticated(scope: Scope, receive: Receive, send: Send) -> None:
            path: str = scope.get("path", "")
            if not (_under(path, ADMIN_PATH) or _under(path, TENANT_PATH)):
                await app(scope, receive, send)
                return
            await before(scope)
            try:
                token = _token(Headers.from_scope(scope).get("authorization", ""))
                if _under(path, ADMIN_PATH):
                    check_admin_key(token, admin_api_key)
                    caller = Caller(admin=True)
                else:
                    caller = Caller(tenant=await tenant_queries().authenticate(token))
            except Unauthorized:
                await on_failure(scope)
                raise
            scope[AUTH_SCOPE_KEY] = caller  # type: ignore[literal-required]
            if caller.tenant is None:
                await app(scope, receive, send)
                return
            # From here on the database's row-level security shows this tenant's rows only.
            with acting_for_tenant(caller.tenant.id):
                await app(scope, receive, send)

        return wrapped

    return middleware


def booking_token(request: Request[Any, Any, Any], query_token: str | None) -> str:
    """A customer's booking token: `Authorization: Bearer <token>` (recommended: it stays
    out of access logs and Referer headers) or the `token` query parameter."""
    if query_token:
        return query_token
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthorized("send the booking token as 'Authorization: Bearer <token>'")
    token = _token(header)
    if not 8 <= len(token) <= 200:
        raise Unauthorized("the booking token is not valid")
    return token


async def authenticated_tenant(
    request: Request[Any, Any, Any], tenant_queries: TenantQueries
) -> Tenant:
    tenant = caller_of(request.scope).tenant
    if tenant is not None:
        return tenant
    return await tenant_queries.authenticate(bearer_token(request))
