"""The hosted pages as one Litestar router, with their own safety and error pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Router
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from adapters.rate_limits.limiter import RateLimits
from entrypoints.config import Settings
from entrypoints.http.strict_json import check_query_strictly
from entrypoints.web.access import BookingAccess
from entrypoints.web.booking_form import PageSettings
from entrypoints.web.errors import PAGE_EXCEPTION_HANDLERS
from entrypoints.web.onboarding import OnboardingPages
from entrypoints.web.pages import BookingPages, ShopPages
from entrypoints.web.safety import content_security_policy, csrf_config, form_secret, is_https
from entrypoints.web.translation import gettext, ngettext

HERE = Path(__file__).parent
ASSETS_PATH = "/pages-assets"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.globals["assets"] = ASSETS_PATH
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def pages_router(settings: Settings, rate_limits: Callable[[], RateLimits]) -> Router:
    """The pages, their stylesheet, and what they depend on besides the use cases."""
    secure = is_https(settings.public_base_url)
    admin_key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
    page_settings = PageSettings(
        settings.default_max_seats_per_booking, secure, form_secret(admin_key)
    )
    policy = content_security_policy(settings.return_hosts)

    def provide_page_settings() -> PageSettings:
        return page_settings

    def provide_rate_limits() -> RateLimits:
        return rate_limits()

    booking_access = BookingAccess.on(rate_limits)

    def provide_booking_access() -> BookingAccess:
        return booking_access

    headers: Any = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
    pages = Router(
        path="/",
        route_handlers=[ShopPages, BookingPages, OnboardingPages],
        dependencies={
            "page_settings": Provide(provide_page_settings, sync_to_thread=False),
            "rate_limits": Provide(provide_rate_limits, sync_to_thread=False),
            "booking_access": Provide(provide_booking_access, sync_to_thread=False),
        },
        middleware=[
            DefineMiddleware(
                CSRFMiddleware,
                config=csrf_config(admin_key, secure=secure),
            )
        ],
        exception_handlers=PAGE_EXCEPTION_HANDLERS,
        # The pages post HTML forms: the API's JSON-only body check does not apply here
        # (the query is still checked; the form fields are checked by the handlers).
        before_request=check_query_strictly,
        response_headers=headers,
        include_in_schema=False,
    )
    assets = create_static_files_router(
        path=ASSETS_PATH, directories=[HERE / "static"], include_in_schema=False
    )
    return Router(path="/", route_handlers=[pages, assets], include_in_schema=False)
