"""What the OpenAPI document says beyond the handlers' signatures: operation ids, the
problem responses of each route, bodies read raw, optional bodies, extra media types.

Each route declares its own problem statuses with `problems(...)`; `document_problems`
(errors.py) only guesses for routes that declare none.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.datastructures import ResponseHeader
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.router import Router
from litestar.static_files import create_static_files_router

from entrypoints.http.errors import PROBLEM_JSON, ProblemDetails

_WHEN = {
    400: "Malformed JSON (a key named twice in one object too), a wrong type, a value out "
    "of range or a bad query parameter (see `errors`)",
    401: "Missing or wrong API key",
    403: "The key may not do this",
    404: "No such resource (another tenant's ids are 404 too)",
    409: "Conflicts with the current state",
    422: "Well-formed but not acceptable",
    502: "The payment gateway refused the request",
    503: "Nothing was confirmed; retry (with the same Idempotency-Key)",
}


def problems(*statuses: int, **why: str) -> dict[int, ResponseSpec]:
    """Problem-details responses (application/problem+json) for these statuses; `why`
    overrides the description of one (`why_409="no seats left"`)."""
    specs: dict[int, ResponseSpec] = {}
    for status in sorted({400, *statuses}):
        specs[status] = ResponseSpec(
            data_container=ProblemDetails,
            description=why.get(f"why_{status}", _WHEN[status]),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
    return specs


def location(what: str) -> list[ResponseHeader]:
    """The Location header a 201 sends, naming the resource it created."""
    return [
        ResponseHeader(
            name="Location",
            value="",  # never sent as is: its type gives the header's schema (a string)
            description=f"the path of {what}",
            documentation_only=True,
            required=True,
        )
    ]


def operation_id_for(handler: HTTPRouteHandler, _method: Any, _path: list[Any]) -> str:
    """A lowerCamel id from the controller's tag and the handler's name, for routes that do
    not name their operation themselves (`fakeGatewayPay`, `operationsLive`)."""
    words = [*(handler.resolve_tags() or [])[:1], handler.handler_name]
    parts = [p for w in words for p in re.split(r"[^A-Za-z0-9]+", w) if p]
    return parts[0].lower() + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def documented(
    *,
    optional_body: bool = False,
    raw_body: RequestBody | None = None,
    headers: Sequence[Parameter] = (),
    extra_content: dict[str, OpenAPIMediaType] | None = None,
) -> type[Operation]:
    """An Operation class that adds what a signature cannot say: an optional JSON body, a
    body the handler reads raw, header parameters read from the request, and more media
    types of the 200 response."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if raw_body is not None:
                self.request_body = raw_body
            if optional_body and isinstance(self.request_body, RequestBody):
                self.request_body.required = False
                _without_null_alternative(self.request_body)
            if headers:
                self.parameters = [*(self.parameters or []), *headers]
            if extra_content and self.responses:
                ok = self.responses.get("200")
                content = getattr(ok, "content", None)
                if content is not None:
                    content.update(extra_content)

    return DocumentedOperation


def _without_null_alternative(body: RequestBody) -> None:
    """An optional body is absent, never `null`: `X | None` documents as plain X, so that
    generated clients leave it out instead of sending a null (or failing to)."""
    for media in (body.content or {}).values():
        schema = media.schema
        if isinstance(schema, Schema) and schema.one_of:
            kept = [
                option
                for option in schema.one_of
                if not (isinstance(option, Schema) and option.type == OpenAPIType.NULL)
            ]
            if len(kept) == 1:
                media.schema = kept[0]


STRIPE_EVENT_BODY = RequestBody(
    required=True,
    description="A Stripe Event object, exactly as Stripe sent it: the signature is checked "
    "over these raw bytes.",
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["id", "type", "data"],
                properties={
                    "id": Schema(type=OpenAPIType.STRING, description="evt_…"),
                    "type": Schema(
                        type=OpenAPIType.STRING, description="e.g. checkout.session.completed"
                    ),
                    "livemode": Schema(type=OpenAPIType.BOOLEAN),
                    "data": Schema(type=OpenAPIType.OBJECT),
                },
            )
        )
    },
)

STRIPE_SIGNATURE = Parameter(
    name="Stripe-Signature",
    param_in="header",
    required=True,
    description="t=<unix seconds>,v1=<hex HMAC-SHA256 of 't.<raw body>'> with the "
    "endpoint's signing secret; 300 s tolerance",
    schema=Schema(type=OpenAPIType.STRING),
)

CSV_STATEMENT = {
    "text/csv": OpenAPIMediaType(
        schema=Schema(
            type=OpenAPIType.STRING,
            description="A header row, then one row per currency: currency, bookings, gross, "
            "refunds, fees, fee_refunds, disputes, net; amounts in major units (42.30), never "
            "minor units.",
        )
    )
}


DOCS_ASSETS = "/schema-assets"


def _swagger_ui_static() -> Path:
    # The swagger-ui-py package (pinned in pyproject.toml) ships Swagger UI's dist files
    # (Apache-2.0, the licence is beside them); its Python half is never imported.
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: run make install")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def docs_assets_router() -> Router:
    """Swagger UI's scripts, stylesheet and icons served by Bookpay itself, so `/schema`
    renders without the internet."""
    return create_static_files_router(
        path=DOCS_ASSETS,
        directories=[_swagger_ui_static()],
        include_in_schema=False,
        name="docs-assets",
    )


DocumentStep = Callable[[OpenAPI], None]


def finish_openapi_document(app: Litestar, *steps: DocumentStep) -> None:
    """Run `steps` on the app's OpenAPI document when Litestar builds it, on first use (the
    first request to `/schema`, or `app.openapi_schema`), once per app.

    Building the document costs more than the rest of the app's start, and most processes
    never serve it. Litestar offers no hook after the build, so the app's plugin becomes an
    instance of a subclass that adds one (same slots, nothing else changes).
    """
    plugin = app.plugins.get(OpenAPIPlugin)

    class FinishedOpenAPIPlugin(type(plugin)):  # type: ignore[misc]
        __slots__ = ()

        def _build_openapi(self) -> OpenAPI:
            document: OpenAPI = super()._build_openapi()
            for step in steps:
                step(document)
            return document

    plugin.__class__ = FinishedOpenAPIPlugin
