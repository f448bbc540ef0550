"""create_app(container): the Litestar application, wired to the container's use cases."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from adapters.sql.database import is_database_unavailable
from adapters.sql.row_scope import (
    RowSecurityMisconfigured,
    acting_for_platform,
    check_the_login,
)
from entrypoints.config import GatewayKind, WebhookMode, reveal
from entrypoints.container import USE_CASES, Container, dispose_engines
from entrypoints.http.admin import AdminController
from entrypoints.http.admission import admission_middleware
from entrypoints.http.auth import authentication_middleware
from entrypoints.http.booking_access import booking_token_middleware
from entrypoints.http.errors import (
    EXCEPTION_HANDLERS,
    declare_retry_after,
    document_problems,
    problem_details_plugin,
)
from entrypoints.http.event_docs import declare_event_webhooks
from entrypoints.http.fake_stripe import FakeStripeController
from entrypoints.http.idempotency import declare_idempotency_key, idempotency_middleware
from entrypoints.http.openapi import (
    DOCS_ASSETS,
    docs_assets_router,
    finish_openapi_document,
    operation_id_for,
)
from entrypoints.http.operations import OperationsController, metrics_middleware
from entrypoints.http.public import BOOKING_TOKEN_SCHEMES, PublicController
from entrypoints.http.strict_json import check_request_strictly, refuse_nul_middleware
from entrypoints.http.tenant import TenantController
from entrypoints.http.tenant_money import TenantMoneyController
from entrypoints.http.throttling import auth_failure_hooks, checkout_limit_middleware
from entrypoints.http.webhook_endpoints import (
    AdminWebhookEndpointController,
    TenantWebhookEndpointController,
)
from entrypoints.http.webhooks import WebhookController
from entrypoints.periodic import PeriodicTask
from entrypoints.web.errors import UNROUTED_HANDLERS
from entrypoints.web.router import pages_router, template_config

MAX_BODY_BYTES = 1024 * 1024
# How often each process looks for queued webhooks that no wake announced (kept by another
# process, or due again after a failure).
WEBHOOK_QUEUE_POLL_SECONDS = 1

log = logging.getLogger("bookpay")


def _provide(factory: Callable[[], Any]) -> Provide:
    # Not cached by Litestar: the container's providers decide what lives how long (and a
    # provider overridden after the first request is obeyed).
    def dependency() -> Any:
        return factory()

    return Provide(dependency, sync_to_thread=False)


def create_app(container: Container) -> Litestar:
    settings = container.settings()
    admin_api_key = reveal(settings.admin_api_key) or None
    dependencies = {name: _provide(getattr(container, name)) for name in USE_CASES}
    dependencies["unit_of_work"] = _provide(lambda: container.uow())
    dependencies["request_metrics"] = _provide(container.request_metrics)
    dependencies["database_probe"] = _provide(container.database_probe)
    dependencies["events_out_metrics"] = _provide(container.events_out_metrics)
    dependencies["webhook_queue_metrics"] = _provide(container.webhook_queue_metrics)
    dependencies["rate_limits"] = _provide(container.rate_limits)
    dependencies["request_admission"] = _provide(container.admission)
    handlers: list[Any] = [
        AdminController,
        TenantController,
        TenantMoneyController,
        AdminWebhookEndpointController,
        TenantWebhookEndpointController,
        PublicController,
        WebhookController,
        OperationsController,
        docs_assets_router(),
        pages_router(settings, container.rate_limits),
    ]
    if settings.gateway is GatewayKind.FAKE:
        handlers.append(FakeStripeController)
        dependencies["fake_gateway"] = _provide(container.fake_gateway)

    auth_before, auth_failed = auth_failure_hooks(container.rate_limits)
    # Each job spans tenants, and says so: undeclared, it would see no tenant's rows.
    platform = acting_for_platform
    sweeper = PeriodicTask(
        "hold sweeper", container.expire_lapsed_holds, settings.sweep_seconds, scope=platform
    )
    reconciler = PeriodicTask(
        "reconciliation", container.reconcile, settings.sweep_seconds * 10, scope=platform
    )
    purger = PeriodicTask(
        "idempotency purge",
        container.idempotent_requests,
        settings.sweep_seconds * 10,
        scope=platform,
    )
    relay = PeriodicTask(
        "events out relay",
        container.deliver_events,
        settings.outbound_poll_seconds,
        scope=platform,
    )
    events_purger = PeriodicTask(
        "events out purge", container.purge_events_out, settings.sweep_seconds * 10, scope=platform
    )
    periodic = [sweeper, reconciler, purger, relay, events_purger]
    if settings.webhook_mode is WebhookMode.QUEUE:
        # Applies the webhooks the requests kept; woken when this process keeps one. Any
        # process drains what any process kept (SKIP LOCKED claims on PostgreSQL).
        periodic.append(
            PeriodicTask(
                "webhook queue",
                container.apply_received_events,
                WEBHOOK_QUEUE_POLL_SECONDS,
                scope=platform,
                wake=container.webhook_queue_wakeup,
            )
        )
    if settings.gateway is GatewayKind.FAKE:
        # The fake Stripe's retries live in its tables: any process delivers what is due.
        # Its own tables are no tenant's (it works as the login); it sends over HTTP.
        periodic.append(
            PeriodicTask(
                "fake stripe deliveries",
                lambda: container.fake_gateway().deliver_due,
                1,
                scope=platform,
            )
        )

    async def check_row_security() -> None:
        # A superuser login is warned about; a role that cannot be taken stops the start.
        try:
            await check_the_login(container.engine(), settings.database_role)
        except RowSecurityMisconfigured:
            raise
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            # A database that is down now is /health/ready's business, not a reason not to start.
            log.warning("row-level security not checked: the database is unavailable")

    async def close_resources() -> None:
        for task in periodic:
            await task.stop()
        await container.event_sender().aclose()
        close = getattr(container.webhook_delivery(), "aclose", None)
        if close is not None:
            await close()
        await dispose_engines(container)
        await container.database_probe().aclose()

    app = Litestar(
        route_handlers=handlers,
        dependencies=dependencies,
        exception_handlers={**EXCEPTION_HANDLERS, **UNROUTED_HANDLERS},
        plugins=[problem_details_plugin()],
        before_request=check_request_strictly,
        middleware=[
            admission_middleware(container.admission, max_body_bytes=MAX_BODY_BYTES),
            refuse_nul_middleware(),
            authentication_middleware(
                container.tenant_queries,
                admin_api_key,
                before=auth_before,
                on_failure=auth_failed,
            ),
            booking_token_middleware(
                container.booking_queries, before=auth_before, on_failure=auth_failed
            ),
            checkout_limit_middleware(container.rate_limits),
            idempotency_middleware(container.idempotent_requests, max_body_bytes=MAX_BODY_BYTES),
        ],
        request_max_body_size=MAX_BODY_BYTES,
        template_config=template_config(),
        on_startup=[check_row_security, *(task.start for task in periodic)],
        on_shutdown=[close_resources],
        state=State(
            {
                "admin_api_key": admin_api_key,
                "public_base_url": settings.public_base_url,
            }
        ),
        openapi_config=OpenAPIConfig(
            title="Bookpay",
            version="1.0.0",
            description="Payments core for multi-tenant booking platforms (see API.md).",
            path="/schema",
            operation_id_creator=operation_id_for,
            render_plugins=[
                SwaggerRenderPlugin(
                    path=["/", "/swagger"],
                    js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                    css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                    standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
                    favicon=f"<link rel='icon' href='{DOCS_ASSETS}/favicon-32x32.png'>",
                )
            ],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="The admin key for /v1/admin, a tenant API key for /v1/tenant",
                    ),
                    **BOOKING_TOKEN_SCHEMES,
                }
            ),
        ),
        debug=False,
    )
    # Outside the router, so requests that match no route (404, 405) are counted too: the
    # middleware list above runs only once a route has matched.
    app.asgi_handler = metrics_middleware(container.request_metrics)(app.asgi_handler)
    document_problems(app)
    finish_openapi_document(
        app, declare_retry_after, declare_idempotency_key, declare_event_webhooks
    )
    return app
