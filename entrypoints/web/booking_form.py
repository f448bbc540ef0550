"""The booking form: its checks, its page, and what makes one submission one checkout.

- The total the customer is shown is the total they pay: the form carries the seats its
  total was computed for (`quoted_seats`); a post whose seats differ shows the form again
  with the new total and asks to confirm, instead of going to checkout (without
  JavaScript, changing Seats does not update the total by itself).
- One submission, one checkout: each rendering of the form carries a one-time `form_id`;
  the checkout's Idempotency-Key and booking token derive from it and the fields posted,
  so a post sent twice (a double click, two tabs, a retry) resumes the first checkout
  instead of holding the seats twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response import Template

from application.customer_pages import OfferingSlots, SlotOnSale
from application.errors import NotFound, TooManySeatsHeldFromClient
from application.quote_fee import QuoteFee
from domain.errors import DomainError
from entrypoints.web import views
from entrypoints.web.errors import held_seats_text, refusal_text
from entrypoints.web.formatting import Formats, customer_locale
from entrypoints.web.translation import gettext as _
from entrypoints.web.translation import text_language

MAX_NAME = 200
MAX_EMAIL = 254
FIELDS = ("name", "email", "seats", "quoted_seats", "form_id")
FORM_ID_BYTES = 18


@dataclass(frozen=True, slots=True)
class PageSettings:
    """What the pages need of the configuration. `form_secret` keys the booking tokens
    derived from a form's one-time id (the same in every worker process)."""

    default_max_seats_per_booking: int
    secure_cookies: bool
    form_secret: bytes = b""


class SlotGone(NotFound):
    """The slot is no longer listed: it started, or was removed, while the form was open."""


def formats(request: Request[Any, Any, Any], timezone: str) -> Formats:
    return Formats(customer_locale(request.headers.get("accept-language")), timezone)


def page(
    request: Request[Any, Any, Any],
    name: str,
    f: Formats,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """`lang` names the language the text is in (a catalogue's), not the formats' locale."""
    return Template(
        template_name=name,
        context={"lang": text_language(request.headers.get("accept-language")), **context},
        status_code=status_code,
        headers=headers,
    )


def requested_seats(text: str | None) -> str:
    """`?seats=` from a link: a whole number kept as given, anything else the default 1."""
    return text if text is not None and text.isdecimal() and len(text) <= 4 else "1"


def slot_on_sale(found: OfferingSlots, slot_id: str) -> SlotOnSale:
    entry = next((e for e in found.slots if e.slot.id == slot_id), None)
    if entry is None:
        raise SlotGone("slot", slot_id)
    return entry


def seat_limit(found: OfferingSlots, settings: PageSettings, slot_id: str) -> int:
    """The most seats to offer: what one booking may take of this slot, and the seats left."""
    slot = slot_on_sale(found, slot_id).slot
    cap = found.offering.seats_per_booking_limit(
        settings.default_max_seats_per_booking, slot.capacity
    )
    return max(1, min(cap, slot.seats_available))


def form_errors(form: dict[str, str], limit: int) -> dict[str, str]:
    errors = {}
    if any(char < " " for value in form.values() for char in value):
        return {"form": _("Please remove the special characters from the form.")}
    if not form["name"]:
        errors["name"] = _("Please enter your name.")
    elif len(form["name"]) > MAX_NAME:
        errors["name"] = _("Please enter a shorter name.")
    local, at, domain = form["email"].rpartition("@")
    if not (at and local and "." in domain and len(form["email"]) <= MAX_EMAIL):
        errors["email"] = _("Please enter an email address such as name@example.com.")
    seats = whole_seats(form["seats"])
    if seats is None or not 1 <= seats <= limit:
        errors["seats"] = _("Please choose between 1 and %(most)d seats.") % {"most": limit}
    return errors


# More digits than any seat count: int() refuses over 4300 digits (a ValueError, a 500).
MAX_SEATS_DIGITS = 6


def whole_seats(text: str) -> int | None:
    """The seats a form field names, or None when it names no whole number of seats.
    isdecimal, not isdigit: "²" is a digit that int() refuses."""
    if not text.isdecimal() or len(text) > MAX_SEATS_DIGITS:
        return None
    return int(text)


def total_not_shown(form: dict[str, str]) -> bool:
    """The seats posted are not those the total on the customer's screen was for."""
    return form["quoted_seats"] != form["seats"]


def submission_key(form: dict[str, str], slot_id: str) -> str | None:
    """The Idempotency-Key of this submission: its one-time form id with what was posted
    (a changed field is another submission). None without a well-formed form id."""
    form_id = form["form_id"]
    if not (16 <= len(form_id) <= 64 and form_id.isascii() and form_id.isprintable()):
        return None
    fields = "\0".join((form_id, slot_id, form["seats"], form["email"], form["name"]))
    return "page-" + hashlib.sha256(fields.encode()).hexdigest()


def submission_token(settings: PageSettings, key: str) -> str:
    """The booking token of this submission: the same on a repeat, so the checkout the first
    post opened (whose return URL carries the token) stays the booking's way back."""
    return hmac.new(settings.form_secret, key.encode(), hashlib.sha256).hexdigest()


async def form_page(
    request: Request[Any, Any, Any],
    found: OfferingSlots,
    slot_id: str,
    form: dict[str, str],
    errors: dict[str, str],
    quote_fee: QuoteFee,
    settings: PageSettings,
    *,
    status_code: int,
    notice: str | None = None,
    wait: TooManySeatsHeldFromClient | None = None,
) -> Template:
    """The booking form as filled in, with `errors` beside their fields; `wait`: refused
    for the seats held from this connection (429 with Retry-After, and the time to come
    back in the customer's words and the tenant's clock), as the API refuses it."""
    f = formats(request, found.business.timezone)
    headers = None
    if wait is not None:
        status_code, headers = 429, {"Retry-After": str(wait.retry_after)}
        errors = {**errors, "form": held_seats_text(wait, f)}
    entry = slot_on_sale(found, slot_id)
    limit = seat_limit(found, settings, slot_id)
    seats = whole_seats(form["seats"]) or 1
    quote = None
    if entry.bookable and 1 <= seats <= limit:
        try:
            quoted = await quote_fee.for_customer(found.business.slug, found.offering.id, seats)
        except DomainError as error:
            errors = {**errors, "form": refusal_text(error)}
        else:
            quote = {
                "rows": views.quote_rows(quoted, f),
                "total": f.money(quoted.customer_total),
                "seats": str(seats),
            }
    return page(
        request,
        "book.html",
        f,
        status_code=status_code,
        headers=headers,
        business=found.business,
        offering=views.offering_row(found.offering, f),
        when=f.when(entry.slot.starts_at),
        bookable=entry.bookable,
        seats_left=entry.slot.seats_available,
        seat_choices=list(range(1, limit + 1)),
        form=form,
        errors=errors,
        notice=notice,
        quote=quote,
        # A new one-time id on every rendering: each sending of the form is one checkout.
        form_id=secrets.token_urlsafe(FORM_ID_BYTES),
        slots_url=f"/book/{found.business.slug}/{found.offering.id}",
    )


def slot_gone_page(
    request: Request[Any, Any, Any], found: OfferingSlots, *, status_code: int
) -> Template:
    """The slot started (or went) while the customer was on the form: say so, and lead back
    to the other times."""
    f = formats(request, found.business.timezone)
    return page(
        request,
        "book.html",
        f,
        status_code=status_code,
        business=found.business,
        offering=views.offering_row(found.offering, f),
        when=None,
        bookable=False,
        errors={},
        slots_url=f"/book/{found.business.slug}/{found.offering.id}",
    )
