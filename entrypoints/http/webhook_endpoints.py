"""/v1/admin/webhook-endpoints and /v1/tenant/webhook-endpoints: where events go.

The admin manages the platform's endpoints (every tenant's events, or one tenant's); a
tenant manages its own, which hear only its events. Each answers 404 for another owner's.
"""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import Provide

from application.manage_webhook_endpoints import (
    EndpointChanges,
    EndpointWithSecret,
    ManageWebhookEndpoints,
    NewEndpoint,
)
from application.ports.events_out import Delivery
from domain import events as ev
from domain.tenant import Tenant
from entrypoints.http import events_out_schemas as w
from entrypoints.http.admin import admin_guard
from entrypoints.http.auth import authenticated_tenant
from entrypoints.http.openapi import location, problems
from entrypoints.http.params import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    after_moment,
    after_text,
    page,
)

ENDPOINTS = "/webhook-endpoints"
ONE = ENDPOINTS + "/{endpoint_id:str}"


def endpoint_out(endpoint: ev.WebhookEndpoint) -> w.WebhookEndpoint:
    return w.WebhookEndpoint(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.events),
        tenant_id=endpoint.tenant_id,
        status=endpoint.status,
        description=endpoint.description,
        created_at=endpoint.created_at,
        previous_secret_until=endpoint.previous_secret_until,
    )


def with_secret_out(created: EndpointWithSecret) -> w.WebhookEndpointWithSecret:
    view = endpoint_out(created.endpoint)
    return w.WebhookEndpointWithSecret(
        **{f: getattr(view, f) for f in view.__struct_fields__}, secret=created.secret
    )


def delivery_out(delivery: Delivery) -> w.WebhookDelivery:
    return w.WebhookDelivery(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        type=delivery.type,
        status=delivery.status,
        attempts=delivery.attempts,
        last_response_status=delivery.last_response_status,
        next_attempt_at=delivery.next_attempt_at,
        created_at=delivery.created_at,
    )


def _changes(data: w.WebhookEndpointPatch) -> EndpointChanges:
    return EndpointChanges(
        url=data.url,
        events=[t.value for t in data.events] if data.events is not None else None,
        status=data.status,
        description=data.description,
    )


async def _endpoint_page(
    manage: ManageWebhookEndpoints, owner: str | None, limit: int, cursor: str | None
) -> w.WebhookEndpointPage:
    after = after_text(cursor)
    found = await manage.list(owner, after=after[1] if after else None, limit=limit + 1)
    shown, next_cursor = page(found, limit, lambda e: (e.id, e.id))
    return w.WebhookEndpointPage(data=[endpoint_out(e) for e in shown], next_cursor=next_cursor)


async def _delivery_page(
    manage: ManageWebhookEndpoints,
    owner: str | None,
    endpoint_id: str,
    status: ev.DeliveryStatus | None,
    limit: int,
    cursor: str | None,
) -> w.WebhookDeliveryPage:
    found = await manage.deliveries(
        owner, endpoint_id, status=status, after=after_moment(cursor), limit=limit + 1
    )
    shown, next_cursor = page(found, limit, lambda d: (d.created_at, d.id))
    return w.WebhookDeliveryPage(data=[delivery_out(d) for d in shown], next_cursor=next_cursor)


def _created(created: EndpointWithSecret, base: str) -> Response[w.WebhookEndpointWithSecret]:
    return Response(
        with_secret_out(created),
        status_code=201,
        headers={"Location": f"{base}{ENDPOINTS}/{created.endpoint.id}"},
    )


class AdminWebhookEndpointController(Controller):
    path = "/v1/admin"
    tags = ["platform admin: events out"]  # noqa: RUF012 - Litestar reads class attributes
    guards = [admin_guard]  # noqa: RUF012
    security = [{"bearer": []}]  # noqa: RUF012

    @post(
        ENDPOINTS,
        operation_id="createPlatformWebhookEndpoint",
        status_code=201,
        summary="Register a platform endpoint (every tenant's events, or one tenant's)",
        response_description="The endpoint and its signing secret (shown only here)",
        response_headers=location("the endpoint"),
        responses=problems(
            401,
            404,
            409,
            422,
            why_404="No such tenant",
            why_409="The platform has as many "
            "endpoints as BOOKPAY_OUTBOUND_MAX_ENDPOINTS_PER_OWNER allows",
        ),
    )
    async def create(
        self, data: w.WebhookEndpointCreate, manage_webhook_endpoints: ManageWebhookEndpoints
    ) -> Response[w.WebhookEndpointWithSecret]:
        created = await manage_webhook_endpoints.register(
            NewEndpoint(
                owner_tenant_id=None,
                url=data.url,
                events=[t.value for t in data.events or ()],
                tenant_id=data.tenant_id,
                description=data.description or "",
            )
        )
        return _created(created, self.path)

    @get(
        ENDPOINTS,
        operation_id="listPlatformWebhookEndpoints",
        summary="The platform's endpoints",
        responses=problems(401),
    )
    async def list_endpoints(
        self,
        manage_webhook_endpoints: ManageWebhookEndpoints,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> w.WebhookEndpointPage:
        return await _endpoint_page(manage_webhook_endpoints, None, limit, cursor)

    @get(ONE, operation_id="getPlatformWebhookEndpoint", responses=problems(401, 404))
    async def get_endpoint(
        self, endpoint_id: str, manage_webhook_endpoints: ManageWebhookEndpoints
    ) -> w.WebhookEndpoint:
        return endpoint_out(await manage_webhook_endpoints.get(None, endpoint_id))

    @patch(
        ONE,
        operation_id="changePlatformWebhookEndpoint",
        summary="Change the URL, the event types or the status",
        responses=problems(401, 404, 422),
    )
    async def change_endpoint(
        self,
        endpoint_id: str,
        data: w.WebhookEndpointPatch,
        manage_webhook_endpoints: ManageWebhookEndpoints,
    ) -> w.WebhookEndpoint:
        changed = await manage_webhook_endpoints.change(None, endpoint_id, _changes(data))
        return endpoint_out(changed)

    @delete(ONE, operation_id="deletePlatformWebhookEndpoint", responses=problems(401, 404))
    async def delete_endpoint(
        self, endpoint_id: str, manage_webhook_endpoints: ManageWebhookEndpoints
    ) -> None:
        await manage_webhook_endpoints.delete(None, endpoint_id)

    @post(
        ONE + "/rotate-secret",
        operation_id="rotatePlatformWebhookSecret",
        status_code=200,
        summary="A new signing secret; the old one keeps signing alongside for 24 h",
        responses=problems(401, 404),
    )
    async def rotate_secret(
        self, endpoint_id: str, manage_webhook_endpoints: ManageWebhookEndpoints
    ) -> w.WebhookEndpointWithSecret:
        return with_secret_out(await manage_webhook_endpoints.rotate_secret(None, endpoint_id))

    @get(
        ONE + "/deliveries",
        operation_id="listPlatformWebhookDeliveries",
        summary="The endpoint's delivery log, newest first",
        responses=problems(401, 404),
    )
    async def deliveries(
        self,
        endpoint_id: str,
        manage_webhook_endpoints: ManageWebhookEndpoints,
        status: ev.DeliveryStatus | None = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> w.WebhookDeliveryPage:
        return await _delivery_page(
            manage_webhook_endpoints, None, endpoint_id, status, limit, cursor
        )

    @post(
        "/webhook-deliveries/{delivery_id:str}/retry",
        operation_id="retryWebhookDelivery",
        status_code=200,
        summary="Deliver again now (any endpoint's delivery)",
        responses=problems(401, 404),
    )
    async def retry(
        self, delivery_id: str, manage_webhook_endpoints: ManageWebhookEndpoints
    ) -> w.WebhookDelivery:
        return delivery_out(await manage_webhook_endpoints.retry(delivery_id))


class TenantWebhookEndpointController(Controller):
    path = "/v1/tenant"
    tags = ["tenant: events out"]  # noqa: RUF012 - Litestar reads class attributes
    dependencies = {"tenant": Provide(authenticated_tenant)}  # noqa: RUF012
    security = [{"bearer": []}]  # noqa: RUF012

    @post(
        ENDPOINTS,
        operation_id="createWebhookEndpoint",
        status_code=201,
        summary="Register an endpoint for the tenant's own events",
        response_description="The endpoint and its signing secret (shown only here)",
        response_headers=location("the endpoint"),
        responses=problems(
            401, 409, 422, why_409="The tenant has as many endpoints as the platform allows"
        ),
    )
    async def create(
        self,
        tenant: Tenant,
        data: w.TenantWebhookEndpointCreate,
        manage_webhook_endpoints: ManageWebhookEndpoints,
    ) -> Response[w.WebhookEndpointWithSecret]:
        created = await manage_webhook_endpoints.register(
            NewEndpoint(
                owner_tenant_id=tenant.id,
                url=data.url,
                events=[t.value for t in data.events or ()],
                description=data.description or "",
            )
        )
        return _created(created, self.path)

    @get(ENDPOINTS, operation_id="listWebhookEndpoints", responses=problems(401))
    async def list_endpoints(
        self,
        tenant: Tenant,
        manage_webhook_endpoints: ManageWebhookEndpoints,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> w.WebhookEndpointPage:
        return await _endpoint_page(manage_webhook_endpoints, tenant.id, limit, cursor)

    @get(ONE, operation_id="getWebhookEndpoint", responses=problems(401, 404))
    async def get_endpoint(
        self, tenant: Tenant, endpoint_id: str, manage_webhook_endpoints: ManageWebhookEndpoints
    ) -> w.WebhookEndpoint:
        return endpoint_out(await manage_webhook_endpoints.get(tenant.id, endpoint_id))

    @patch(ONE, operation_id="changeWebhookEndpoint", responses=problems(401, 404, 422))
    async def change_endpoint(
        self,
        tenant: Tenant,
        endpoint_id: str,
        data: w.WebhookEndpointPatch,
        manage_webhook_endpoints: ManageWebhookEndpoints,
    ) -> w.WebhookEndpoint:
        changed = await manage_webhook_endpoints.change(tenant.id, endpoint_id, _changes(data))
        return endpoint_out(changed)

    @delete(ONE, operation_id="deleteWebhookEndpoint", responses=problems(401, 404))
    async def delete_endpoint(
        self, tenant: Tenant, endpoint_id: str, manage_webhook_endpoints: ManageWebhookEndpoints
    ) -> None:
        await manage_webhook_endpoints.delete(tenant.id, endpoint_id)

    @post(
        ONE + "/rotate-secret",
        operation_id="rotateWebhookSecret",
        status_code=200,
        summary="A new signing secret; the old one keeps signing alongside for 24 h",
        responses=problems(401, 404),
    )
    async def rotate_secret(
        self, tenant: Tenant, endpoint_id: str, manage_webhook_endpoints: ManageWebhookEndpoints
    ) -> w.WebhookEndpointWithSecret:
        rotated = await manage_webhook_endpoints.rotate_secret(tenant.id, endpoint_id)
        return with_secret_out(rotated)

    @get(
        ONE + "/deliveries",
        operation_id="listWebhookDeliveries",
        summary="The endpoint's delivery log, newest first",
        responses=problems(401, 404),
    )
    async def deliveries(
        self,
        tenant: Tenant,
        endpoint_id: str,
        manage_webhook_endpoints: ManageWebhookEndpoints,
        status: ev.DeliveryStatus | None = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> w.WebhookDeliveryPage:
        return await _delivery_page(
            manage_webhook_endpoints, tenant.id, endpoint_id, status, limit, cursor
        )
