"""/v1/admin: the platform operator creates tenants, sets fee policies, reads fee revenue."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import Parameter

from application.booking_queries import BookingQueries
from application.create_tenant import CreateTenant, NewTenant
from application.ports import InvalidCursor
from application.rotate_api_key import RotateApiKey, RotateApiKeyCommand
from application.set_fee_policy import (
    NewFeePolicy,
    NewFeePolicyOverride,
    SetFeePolicy,
    SetFeePolicyOverride,
)
from application.statements import PlatformFeeReport
from application.tenant_queries import TenantQueries
from domain.booking import BookingStatus, PaymentStatus
from domain.tenant import ChargeModel
from entrypoints.http import mapping as m
from entrypoints.http import schemas as s
from entrypoints.http.auth import bearer_token, check_admin_key

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
From = Annotated[datetime | None, Parameter(query="from", description="inclusive, RFC 3339")]
To = Annotated[datetime | None, Parameter(query="to", description="exclusive, RFC 3339")]


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    check_admin_key(bearer_token(connection), connection.app.state.admin_api_key)


def _encode_cursor(tenant_id: str) -> str:
    return base64.urlsafe_b64encode(tenant_id.encode()).decode()


def _decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        tenant_id = base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:
        tenant_id = ""
    if not tenant_id.startswith("tn_") or not tenant_id.isprintable():
        raise InvalidCursor(f"invalid page cursor {cursor!r}")
    return tenant_id


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["platform admin"]  # noqa: RUF012 - Litestar reads these as class attributes
    guards = [admin_guard]  # noqa: RUF012
    security = [{"bearer": []}]  # noqa: RUF012

    @get("/bookings", summary="A tenant's bookings, newest first (support work)")
    async def list_bookings(
        self,
        booking_queries: BookingQueries,
        tenant_id: str,
        status: BookingStatus | None = None,
        payment_status: PaymentStatus | None = None,
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> s.Page[s.Booking]:
        page = await booking_queries.list_for_tenant(
            tenant_id,
            statuses=(status,) if status else (),
            payment_statuses=(payment_status,) if payment_status else (),
            starts_from=None,
            starts_before=None,
            limit=limit,
            cursor=cursor,
        )
        return s.Page(data=[m.booking_out(b) for b in page.items], next_cursor=page.next_cursor)

    @post("/tenants", status_code=201, summary="Create a tenant; its API key is shown once")
    async def create_tenant(
        self, data: s.TenantCreate, create_tenant: CreateTenant
    ) -> s.TenantCreated:
        created = await create_tenant(
            NewTenant(
                name=data.name,
                slug=data.slug,
                country=data.country,
                default_currency=data.default_currency,
                timezone=data.timezone,
                fee_policy=m.fee_policy_in(data.fee_policy) if data.fee_policy else None,
                charge_model=ChargeModel(data.charge_model),
            )
        )
        return s.TenantCreated(
            tenant=m.tenant_out(created.tenant, created.fee_policy), api_key=created.api_key
        )

    @get("/tenants", summary="List tenants")
    async def list_tenants(
        self, tenant_queries: TenantQueries, limit: Limit = 50, cursor: str | None = None
    ) -> s.Page[s.Tenant]:
        views = await tenant_queries.list(after=_decode_cursor(cursor), limit=limit + 1)
        page, more = views[:limit], len(views) > limit
        return s.Page(
            data=[m.tenant_out(v.tenant, v.fee_policy) for v in page],
            next_cursor=_encode_cursor(page[-1].tenant.id) if more and page else None,
        )

    @get("/tenants/{tenant_id:str}", summary="One tenant with Connect status and fee policy")
    async def get_tenant(self, tenant_id: str, tenant_queries: TenantQueries) -> s.Tenant:
        view = await tenant_queries.get(tenant_id)
        return m.tenant_out(view.tenant, view.fee_policy)

    @put("/tenants/{tenant_id:str}/fee-policy", summary="Set a new fee policy version")
    async def set_fee_policy(
        self, tenant_id: str, data: s.FeePolicy, set_fee_policy: SetFeePolicy
    ) -> s.VersionedFeePolicy:
        policy = await set_fee_policy(NewFeePolicy(tenant_id, m.fee_policy_in(data)))
        return s.VersionedFeePolicy(version=policy.version, policy=m.fee_policy_out(policy))

    @put(
        "/tenants/{tenant_id:str}/offerings/{offering_id:str}/fee-policy",
        summary="Set the platform's fee policy for one offering (a new override version)",
    )
    async def set_offering_fee_policy(
        self,
        tenant_id: str,
        offering_id: str,
        data: s.FeePolicy,
        set_fee_policy_override: SetFeePolicyOverride,
    ) -> s.AppliedFeePolicy:
        policy = await set_fee_policy_override(
            NewFeePolicyOverride(tenant_id, offering_id, m.fee_policy_in(data))
        )
        return m.applied_policy_out(policy)

    @delete(
        "/tenants/{tenant_id:str}/offerings/{offering_id:str}/fee-policy",
        status_code=200,
        summary="End the offering's override: the tenant's fee policy prices it again",
    )
    async def end_offering_fee_policy(
        self, tenant_id: str, offering_id: str, set_fee_policy_override: SetFeePolicyOverride
    ) -> s.AppliedFeePolicy:
        policy = await set_fee_policy_override(NewFeePolicyOverride(tenant_id, offering_id, None))
        return m.applied_policy_out(policy)

    @post(
        "/tenants/{tenant_id:str}/api-keys",
        status_code=201,
        summary="A new API key for the tenant (shown once); its other keys end after a grace",
    )
    async def rotate_api_key(
        self, tenant_id: str, rotate_api_key: RotateApiKey, data: s.ApiKeyRotation | None = None
    ) -> s.ApiKeyIssued:
        grace = (data or s.ApiKeyRotation()).revoke_others_after_seconds
        issued = await rotate_api_key(
            RotateApiKeyCommand(tenant_id, revoke_others_after=timedelta(seconds=grace))
        )
        return s.ApiKeyIssued(
            api_key=issued.api_key,
            others_revoked_at=issued.others_revoked_at,
            others_revoked=issued.others_revoked,
        )

    @get("/reports/fees", summary="Platform fee revenue per tenant and currency")
    async def fee_report(
        self, platform_fee_report: PlatformFeeReport, since: From = None, until: To = None
    ) -> s.FeeReport:
        lines = await platform_fee_report(since=since, until=until)
        return s.FeeReport(
            data=[
                s.FeeReportLine(
                    tenant_id=line.tenant_id,
                    tenant_slug=line.tenant_slug,
                    currency=line.line.currency,
                    bookings=line.line.bookings,
                    fees=m.money_out(line.line.fees),
                    fee_refunds=m.money_out(line.line.fee_refunds),
                    net_fees=m.money_out(line.net_fees),
                )
                for line in lines
            ]
        )
