"""Where Stripe sends a tenant after its hosted onboarding (return) or when the link ran
out (refresh): plain pages saying what happens next, instead of an API route that would
answer 401 to a browser."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from entrypoints.web.translation import text_language

RETURN_PATH = "/onboarding/return"
REFRESH_PATH = "/onboarding/refresh"


def _lang(request: Request[Any, Any, Any]) -> str:
    return text_language(request.headers.get("accept-language"))


class OnboardingPages(Controller):
    path = "/onboarding"
    include_in_schema = False

    @get("/return")
    async def finished(self, request: Request[Any, Any, Any]) -> Template:
        return Template(
            template_name="onboarding.html", context={"lang": _lang(request), "done": True}
        )

    @get("/refresh")
    async def expired(self, request: Request[Any, Any, Any]) -> Template:
        return Template(
            template_name="onboarding.html", context={"lang": _lang(request), "done": False}
        )
