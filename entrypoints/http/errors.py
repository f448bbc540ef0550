"""One mapping of application and domain errors to RFC 9457 problem details."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
import sqlalchemy.exc
from litestar import Litestar, MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, OpenAPIHeader, OpenAPIResponse, OpenAPIType, Schema
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from adapters.sql.database import is_database_unavailable
from application import errors as app
from application.ports.repositories import InvalidCursor
from domain import errors as dom

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("bookpay.http")

# Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (app.NotFound, 404),
    (app.Unauthorized, 401),
    (app.Forbidden, 403),
    (app.MalformedRequest, 400),
    (InvalidCursor, 400),
    (app.ServiceUnavailable, 503),
    (app.TooManySeatsHeldFromClient, 429),
    (app.IdempotencyKeyReused, 409),
    (app.Conflict, 409),
    (app.InvalidWebhookSignature, 400),
    (app.InvalidWebhookPayload, 400),
    (app.InvalidRequest, 422),
    (app.CardDeclined, 402),
    (app.GatewayRateLimited, 503),
    (app.GatewayUnavailable, 503),
    (app.GatewayError, 502),
    (dom.SeatsUnavailable, 409),
    (dom.TooManyPendingHolds, 409),
    (dom.SlotAlreadyStarted, 409),
    (dom.StartsTooSoonToCheckOut, 409),
    (dom.SlotCancelled, 409),
    (dom.CapacityBelowSeatsTaken, 409),
    (dom.IllegalTransition, 409),
    (dom.CancellationWindowClosed, 409),
    (dom.RefundExceedsPaid, 409),
    (dom.DisputeOpen, 409),
    (dom.OfferingArchived, 409),
    (dom.SlotStartTaken, 409),
    (dom.OfferingCurrencyFixed, 409),
    (dom.TenantCannotSell, 422),
    (dom.ReturnUrlNotAllowed, 422),
    (dom.BelowMinimumCharge, 422),
    (dom.DomainError, 422),
)

HTTP_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


# The problem type of a refusal by the HTTP layer itself, by status.
SLUG_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "request-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "too-many-requests",
    500: "internal-error",
    502: "bad-gateway",
    503: "service-unavailable",
}
RETRY_AFTER_SECONDS = "2"


def _slug(error: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", type(error).__name__).lower()


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemDetailsException:
    """The problem (RFC 9457) Litestar's problem-details plugin renders: `type` is
    `urn:bookpay:problem:<slug>`, `errors` lists the fields at fault."""
    return ProblemDetailsException(
        detail=detail,
        status_code=status,
        headers=headers,
        extra={"errors": errors} if errors else None,
        type_=f"urn:bookpay:problem:{slug or SLUG_BY_STATUS.get(status, 'error')}",
        title=title or HTTP_TITLES.get(status, "Error"),
    )


def _title(slug: str) -> str:
    return slug.replace("-", " ").capitalize()


def known_error_problem(error: Exception) -> ProblemDetailsException:
    """An application or domain error, by the first matching row of STATUS_BY_ERROR."""
    status = next((s for kind, s in STATUS_BY_ERROR if isinstance(error, kind)), 500)
    slug = getattr(type(error), "slug", None) or _slug(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    if status == 429:
        headers = {"Retry-After": str(getattr(error, "retry_after", RETRY_AFTER_SECONDS))}
    title = getattr(type(error), "title", None) or _title(slug)
    return problem(status, str(error), slug=slug, title=title, headers=headers)


def http_exception_problem(error: HTTPException) -> ProblemDetailsException:
    """A refusal by Litestar or our edge (validation, 404 route, 405, 413, 415, 429)."""
    status = error.status_code
    errors = None
    slug = None
    if isinstance(error, ValidationException):
        slug = "validation-failed"
        if isinstance(error.extra, list):
            errors = [_field_error(item) for item in error.extra]
    detail = error.detail if error.detail and status != 500 else HTTP_TITLES.get(status, "Error")
    return problem(status, detail, slug=slug, errors=errors, headers=error.headers)


def _field_error(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return {k: v for k, v in item.items() if k in ("key", "message", "source")}
    return {"message": str(item)}


def handle_database_unavailable(
    request: Request[Any, Any, Any], error: Exception
) -> Response[dict[str, Any]]:
    """The database refused, dropped or timed out the work: nothing was committed."""
    # A pool's timeout says which pool (its size) and nothing of the request's data; other
    # database errors may quote parameters, so only their kind is logged.
    why = str(error) if isinstance(error, sqlalchemy.exc.TimeoutError) else ""
    log.warning(
        "database unavailable on %s %s: %s%s",
        request.method,
        request.url.path,
        type(error).__name__,
        f" ({why.split(' (Background', 1)[0]})" if why else "",
    )
    return problem(
        503,
        "The database is unavailable or busy; nothing was done. Retry shortly.",
        slug="database-unavailable",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    ).to_response(request)


def handle_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if is_database_unavailable(error):
        return handle_database_unavailable(request, error)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Something went wrong on our side; nothing was charged twice. Try again.",
    ).to_response(request)


def problem_details_plugin() -> ProblemDetailsPlugin:
    """Litestar's problem-details plugin over our one error table: every application,
    domain and HTTP error becomes a problem."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                app.ApplicationError: known_error_problem,
                dom.DomainError: known_error_problem,
                HTTPException: http_exception_problem,
            }
        )
    )


# What the plugin does not map: these log the request they failed, with its traceback.
EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    sqlalchemy.exc.OperationalError: handle_database_unavailable,
    sqlalchemy.exc.InterfaceError: handle_database_unavailable,
    sqlalchemy.exc.TimeoutError: handle_database_unavailable,
    Exception: handle_unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem", "problem_details_plugin"]


class FieldProblem(msgspec.Struct):
    key: str | None = None
    message: str | None = None
    source: str | None = None


class ProblemDetails(msgspec.Struct):
    """RFC 9457 problem details, served as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


_WHEN = {
    400: "Malformed JSON (a key named twice in one object too), a wrong type, or a value "
    "out of range (see `errors`)",
    401: "Missing or wrong API key (or booking token)",
    403: "The fee policy is the platform's: a tenant request may not carry `fee_policy`",
    404: "No such resource (another tenant's ids are 404 too)",
    409: "Conflicts with the current state: no seats left, an Idempotency-Key reused with "
    "another body, a booking that cannot change this way",
    422: "Well-formed but not acceptable: unknown currency, below Stripe's minimum charge, "
    "a tenant that cannot take charges yet, …",
    413: "The request body is larger than 1 MiB",
    415: "A JSON body without `Content-Type: application/json`, or in a charset other than UTF-8",
    429: "Too many requests from this client; see `Retry-After`",
    502: "The payment gateway refused the request",
    503: "The payment gateway or the database is unavailable; retry (see `Retry-After`) "
    "with the same Idempotency-Key",
}


def document_problems(app: Litestar) -> None:
    """Add the problem responses each route can give to the OpenAPI document.

    The edge's answers (authentication, limits, body checks, Idempotency-Key reuse, a
    database unavailable) apply to every route; a route that declares its own problems
    (entrypoints/http/openapi.py) keeps them, and gets only those added.
    """
    for route in app.routes:
        path = route.path
        if path.startswith(("/health", "/metrics", "/schema")):
            continue
        for handler in getattr(route, "route_handlers", []):
            methods: set[str] = getattr(handler, "http_methods", set())
            codes = {400} | _edge_problems(path, methods)
            if not any(int(code) >= 400 for code in handler.responses or {}):
                codes |= _likely_problems(path, methods)
            documented = dict(handler.responses or {})
            for code in sorted(codes):
                documented.setdefault(
                    code,
                    ResponseSpec(
                        data_container=ProblemDetails,
                        description=_WHEN[code],
                        media_type=PROBLEM_JSON,
                        generate_examples=False,
                    ),
                )
            handler.responses = documented


RETRY_AFTER_HEADER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    description="Seconds to wait before trying again",
    required=True,
)


def declare_retry_after(document: OpenAPI) -> None:
    """Declare the Retry-After header on every 429 and 503 answer of the app's OpenAPI
    document (both always send it)."""
    for item in (document.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            for code, response in ((operation and operation.responses) or {}).items():
                if code in ("429", "503") and isinstance(response, OpenAPIResponse):
                    response.headers = {
                        **(response.headers or {}),
                        "Retry-After": RETRY_AFTER_HEADER,
                    }


def _edge_problems(path: str, methods: set[str]) -> set[int]:
    """What the edge may answer before or around any handler."""
    codes: set[int] = set()
    if path.startswith(("/v1/admin", "/v1/tenant", "/v1/public/bookings")):
        codes.add(401)
    if path.startswith(("/v1/admin", "/v1/tenant", "/v1/public/bookings")):
        codes.add(429)  # failed authentications (API keys, booking tokens) past the limit
    if path.startswith("/v1/public/") and path.endswith("/checkout"):
        codes.add(429)
    if path.startswith("/v1/") and not path.startswith("/v1/webhooks"):
        codes.add(503)  # the database unavailable or busy
        if "POST" in methods:
            codes.add(409)  # an Idempotency-Key reused with another request
    if methods & {"POST", "PUT", "PATCH"} and path.startswith("/v1/"):
        codes |= {413, 415}
    return codes


def _likely_problems(path: str, methods: set[str]) -> set[int]:
    """What a route that does not declare its own problems may answer."""
    codes: set[int] = set()
    if "{" in path or path.startswith("/v1/tenant/fee-quote"):
        codes.add(404)
    if methods & {"POST", "PUT", "PATCH", "DELETE"} and path.startswith("/v1/"):
        codes |= {409, 422}
    if (
        methods & {"POST", "PATCH"}
        and path.startswith("/v1/tenant/offerings")
        and not path.endswith("/slots")
    ):
        codes.add(403)
    if path.startswith("/v1/") and (
        "checkout" in path or "cancel" in path or "refunds" in path or "connect" in path
    ):
        codes |= {502, 503}
    return codes
