"""/v1/admin: the platform operator creates tenants, sets fee policies, reads fee revenue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Response, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from application.booking_queries import BookingQueries
from application.create_tenant import CreateTenant, NewTenant
from application.rotate_api_key import RotateApiKey, RotateApiKeyCommand
from application.set_fee_policy import NewFeePolicy, SetFeePolicy
from application.set_fee_policy_override import NewFeePolicyOverride, SetFeePolicyOverride
from application.statements import PlatformFeeReport
from application.tenant_queries import TenantQueries
from domain.booking import BookingStatus, PaymentStatus
from domain.tenant import ChargeModel
from entrypoints.http import mapping as m
from entrypoints.http import schemas as s
from entrypoints.http.auth import bearer_token, check_admin_key
from entrypoints.http.openapi import documented, location, problems
from entrypoints.http.params import (
    DEFAULT_LIMIT,
    Cursor,
    From,
    Limit,
    To,
    after_moment,
    after_text,
    moment,
    page,
)


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    check_admin_key(bearer_token(connection), connection.app.state.admin_api_key)


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["platform admin"]  # noqa: RUF012 - Litestar reads these as class attributes
    guards = [admin_guard]  # noqa: RUF012
    security = [{"bearer": []}]  # noqa: RUF012

    @get(
        "/bookings",
        operation_id="listTenantBookingsAsAdmin",
        summary="Bookings across tenants, newest first (support work)",
        description=(
            "Every tenant's bookings, or one tenant's with `tenant_id`; filtered by `status` "
            "(seats) and `payment_status` (money); paginated with `limit` and `cursor`."
        ),
        responses=problems(400, 401),
    )
    async def list_bookings(
        self,
        booking_queries: BookingQueries,
        tenant_id: str | None = None,
        status: BookingStatus | None = None,
        payment_status: PaymentStatus | None = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> s.BookingPage:
        after_moment(cursor)  # a forged cursor is the client's mistake: 400 under `cursor`
        found = await booking_queries.list_for_tenant(
            tenant_id,
            statuses=(status,) if status else (),
            payment_statuses=(payment_status,) if payment_status else (),
            starts_from=None,
            starts_before=None,
            limit=limit,
            cursor=cursor,
        )
        return s.BookingPage(
            data=[m.booking_out(b) for b in found.items], next_cursor=found.next_cursor
        )

    @post(
        "/tenants",
        operation_id="createTenant",
        status_code=201,
        summary="Create a tenant; its API key is shown once",
        response_description="The tenant and its API key (shown only here)",
        response_headers=location("the tenant"),
        responses=problems(401, 409, 422, why_409="The slug is taken"),
    )
    async def create_tenant(
        self, data: s.TenantCreate, create_tenant: CreateTenant
    ) -> Response[s.TenantCreated]:
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
        return Response(
            s.TenantCreated(
                tenant=m.tenant_out(created.tenant, created.fee_policy), api_key=created.api_key
            ),
            status_code=201,
            headers={"Location": f"/v1/admin/tenants/{created.tenant.id}"},
        )

    @get(
        "/tenants",
        operation_id="listTenants",
        summary="List tenants",
        description="By id; paginated with `limit` and `cursor`.",
        responses=problems(401),
    )
    async def list_tenants(
        self, tenant_queries: TenantQueries, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> s.TenantPage:
        after = after_text(cursor)
        views = await tenant_queries.list(after=after[1] if after else None, limit=limit + 1)
        shown, next_cursor = page(views, limit, lambda v: (v.tenant.id, v.tenant.id))
        return s.TenantPage(
            data=[m.tenant_out(v.tenant, v.fee_policy) for v in shown], next_cursor=next_cursor
        )

    @get(
        "/tenants/{tenant_id:str}",
        operation_id="getTenant",
        summary="One tenant with Connect status and fee policy",
        responses=problems(401, 404),
    )
    async def get_tenant(self, tenant_id: str, tenant_queries: TenantQueries) -> s.Tenant:
        view = await tenant_queries.get(tenant_id)
        return m.tenant_out(view.tenant, view.fee_policy)

    @put(
        "/tenants/{tenant_id:str}/fee-policy",
        operation_id="setFeePolicy",
        summary="Set a new fee policy version",
        responses=problems(
            401, 404, 422, why_422="The policy could not price every active offering"
        ),
    )
    async def set_fee_policy(
        self, tenant_id: str, data: s.FeePolicy, set_fee_policy: SetFeePolicy
    ) -> s.VersionedFeePolicy:
        policy = await set_fee_policy(NewFeePolicy(tenant_id, m.fee_policy_in(data)))
        return s.VersionedFeePolicy(version=policy.version, policy=m.fee_policy_out(policy))

    @put(
        "/tenants/{tenant_id:str}/offerings/{offering_id:str}/fee-policy",
        operation_id="setOfferingFeePolicy",
        summary="Set the platform's fee policy for one offering (a new override version)",
        responses=problems(401, 404, 422, why_422="The policy could not price the offering"),
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
        operation_id="endOfferingFeePolicy",
        summary="End the offering's override: the tenant's fee policy prices it again",
        responses=problems(
            401, 404, 422, why_422="The tenant's policy could not price the offering"
        ),
    )
    async def end_offering_fee_policy(
        self, tenant_id: str, offering_id: str, set_fee_policy_override: SetFeePolicyOverride
    ) -> s.AppliedFeePolicy:
        policy = await set_fee_policy_override(NewFeePolicyOverride(tenant_id, offering_id, None))
        return m.applied_policy_out(policy)

    @post(
        "/tenants/{tenant_id:str}/api-keys",
        operation_id="issueTenantApiKey",
        status_code=201,
        summary="A new API key for the tenant (shown once); its other keys end after a grace",
        description="The body is optional: without it the other keys end after a day.",
        responses=problems(401, 404),
        operation_class=documented(optional_body=True),
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

    @get(
        "/reports/fees",
        operation_id="getFeeReport",
        summary="Platform fee revenue per tenant and currency",
        description=(
            "`from`/`to` bound when the money moved (the ledger entry's time). Lines by "
            "tenant id, then currency; paginated with `limit` and `cursor`."
        ),
        responses=problems(400, 401),
    )
    async def fee_report(
        self,
        platform_fee_report: PlatformFeeReport,
        since: From = None,
        until: To = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> s.FeeReport:
        lines = await platform_fee_report(
            since=moment(since, "from"),
            until=moment(until, "to"),
            after=after_text(cursor),
            limit=limit + 1,
        )
        shown, next_cursor = page(lines, limit, lambda line: (line.tenant_id, line.line.currency))
        return s.FeeReport(
            data=[
                s.FeeReportLine(
                    tenant_id=line.tenant_id,
                    tenant_slug=line.tenant_slug,
                    currency=line.line.currency,
                    bookings=line.line.bookings,
                    fees=m.money_out(line.line.fees),
                    fee_refunds=m.money_out(line.line.fee_refunds),
                    net_fees=s.SignedMoney(
                        amount=line.net_fees.amount, currency=line.net_fees.currency
                    ),
                )
                for line in shown
            ],
            next_cursor=next_cursor,
        )
