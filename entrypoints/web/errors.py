"""Refusals on the pages, in words: the same errors as the API, shown as an HTML page.

The status comes from the API's one mapping (entrypoints/http/errors.py); only the words
differ, because a customer reads them, not a program.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.openapi import ResponseSpec
from litestar.response import Template

from adapters.sql.database import is_database_unavailable
from application import errors as app
from domain import errors as dom
from entrypoints.http.errors import EXCEPTION_HANDLERS, STATUS_BY_ERROR, http_exception_problem
from entrypoints.http.throttling import TooManyFailedAuthentications
from entrypoints.web.formatting import Formats
from entrypoints.web.safety import booking_path
from entrypoints.web.translation import N_, text_language
from entrypoints.web.translation import gettext as _

log = logging.getLogger("bookpay.pages")

_WORDS: tuple[tuple[type[Exception], str], ...] = (
    (app.NotFound, N_("We could not find this page. The link may be incomplete or out of date.")),
    (
        dom.SeatsUnavailable,
        N_("Not enough seats are left for this time. Please choose fewer seats or another time."),
    ),
    (dom.SlotAlreadyStarted, N_("This time has already started and can no longer be booked.")),
    (dom.SlotCancelled, N_("This time was cancelled by the business and can no longer be booked.")),
    (dom.TooManySeatsPerBooking, N_("That is more seats than one booking may take.")),
    (
        dom.TooManyPendingHolds,
        N_("You have several bookings waiting for payment already. Finish or cancel one first."),
    ),
    (
        app.TooManySeatsHeldFromClient,
        N_(
            "Many seats of this time were put on hold from your connection already. "
            "Please pay for those first, or try again later."
        ),
    ),
    (dom.TenantCannotSell, N_("This business cannot take payments yet. Please try again later.")),
    (dom.BelowMinimumCharge, N_("This total is too small to be paid by card.")),
    (dom.AboveMaximumCharge, N_("This total is too large to be paid by card.")),
    (dom.CancellationWindowClosed, N_("It is too late to cancel this booking online.")),
    (dom.DisputeOpen, N_("This booking cannot be changed while a payment dispute is open.")),
    (dom.IllegalTransition, N_("This booking cannot be changed this way any more.")),
    (
        # Before GatewayUnavailable, its parent: a refund or payment it did not confirm.
        app.GatewayOutcomeUnknown,
        N_(
            "The payment service has not confirmed this yet. Please try again in a moment: "
            "nothing is charged or refunded twice."
        ),
    ),
    (
        app.GatewayUnavailable,
        N_("The payment service is not answering. Nothing was charged; please try again soon."),
    ),
    (app.GatewayError, N_("The payment service refused. Nothing was charged; please try again.")),
    (app.ServiceUnavailable, N_("We are busy right now. Nothing was charged; please try again.")),
)
_TOO_MANY = N_("Too many bookings were started from your connection. Please wait a minute.")
_TOO_MANY_GUESSES = N_(
    "Too many booking links that do not work were opened from your connection. "
    "Please wait a minute, then open the link to your booking again."
)
_DEFAULT = N_("Something went wrong on our side. Nothing was charged twice; please try again.")


def held_seats_text(error: app.TooManySeatsHeldFromClient, f: Formats) -> str:
    """The seats-held refusal with the time the customer may try again (`f`: the customer's
    formats on the tenant's clock)."""
    return _(
        "Many seats of this time were put on hold from your connection already. "
        "Please pay for those first, or try again after %(when)s."
    ) % {"when": f.when(error.retry_at)}


def refusal_text(error: Exception) -> str:
    """What the customer reads for a refusal (translated)."""
    return _(next((words for kind, words in _WORDS if isinstance(error, kind)), _DEFAULT))


def _status(error: Exception) -> int:
    if isinstance(error, HTTPException):
        return error.status_code
    if is_database_unavailable(error):
        return 503
    return next((status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)), 500)


def error_page(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    status = _status(error)
    if status >= 500 and not isinstance(error, (app.ApplicationError, HTTPException)):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
    if isinstance(error, HTTPException) and status < 500:
        text = _("This request could not be read. Please go back and try again.")
        if status == 404:
            text = refusal_text(app.NotFound("page", request.url.path))
        if status == 429:
            guesses = isinstance(error, TooManyFailedAuthentications)
            text = _(_TOO_MANY_GUESSES if guesses else _TOO_MANY)
    else:
        text = refusal_text(error)
    headers = {"Retry-After": "2"} if status == 503 else None
    if isinstance(error, HTTPException) and error.headers:
        headers = dict(error.headers)
    return Template(
        template_name="error.html",
        context={
            "lang": text_language(request.headers.get("accept-language")),
            "text": text,
            "back": _way_back(request.url.path, status),
        },
        status_code=status,
        headers=headers,
    )


def _way_back(path: str, status: int) -> str | None:
    """A booking's own page, from one of its other pages (a cancel that was refused, or the
    checkout left in a race): the customer sees what the booking is now."""
    parts = path.strip("/").split("/")
    if status in (404, 429) or len(parts) < 3:
        return None
    if parts[0] == "booking":
        return booking_path(parts[1])
    return None


# The same keys as the API's handlers and the errors its problem-details plugin maps, so that
# none of theirs is more specific than ours.
PAGE_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = dict.fromkeys(
    [*EXCEPTION_HANDLERS, app.ApplicationError, dom.DomainError, HTTPException], error_page
)


# Where the pages live: a URL under these that matches no route is a page too.
PAGE_PREFIXES = ("/book", "/booking", "/onboarding")


def is_page_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def unrouted(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """No route for this path or method (raised before any route's own handlers): a page
    in words under the pages' paths, the API's problem details everywhere else."""
    if is_page_path(request.url.path):
        return error_page(request, error)
    return http_exception_problem(error).to_response(request)


# For the application: the router's own 404 and 405 never reach the pages' handlers.
UNROUTED_HANDLERS: dict[type[Exception] | int, Any] = dict.fromkeys(
    [NotFoundException, MethodNotAllowedException], unrouted
)


def html_pages(*statuses: int, **why: str) -> dict[int, ResponseSpec]:
    """The OpenAPI responses of a route a browser is sent to (the checkout's way back):
    its refusals are these pages (text/html), not problem details. `why_404=…` says why."""
    return {
        status: ResponseSpec(
            data_container=str,
            description=why.get(f"why_{status}", "A page in words for the customer"),
            media_type="text/html",
            generate_examples=False,
        )
        for status in sorted({400, *statuses})
    }
