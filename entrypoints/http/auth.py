"""Who is calling: the platform admin, a tenant (by API key), or nobody (public)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from application.errors import Unauthorized
from application.tenant_queries import TenantQueries
from domain.tenant import Tenant


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <key>'")
    return token.strip()


def check_admin_key(presented: str, configured: str | None) -> None:
    """Constant-time comparison; with no admin key configured nobody is admin."""
    if not configured or not hmac.compare_digest(presented.encode(), configured.encode()):
        raise Unauthorized("the admin key is not valid")


async def authenticated_tenant(
    request: Request[Any, Any, Any], tenant_queries: TenantQueries
) -> Tenant:
    return await tenant_queries.authenticate(bearer_token(request))
