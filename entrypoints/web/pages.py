"""The customer's pages: the shop, an offering's slots, the booking form, the booking.

Each handler reads the request, calls one use case and renders a template; every rule
(what is on sale, what a quote is, what cancelling gives back) belongs to the use cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from adapters.rate_limits.limiter import RateLimits
from application.cancel_booking import CancelBooking, CancelCommand
from application.customer_pages import CustomerPages, OfferingSlots, SlotOnSale
from application.errors import ApplicationError, NotFound
from application.quote_fee import QuoteFee
from application.slot_queries import ListPublicOfferings
from application.start_checkout import StartCheckout, StartCheckoutCommand
from domain.booking import CancelledBy
from domain.errors import DomainError
from entrypoints.http.throttling import TooManyRequests, client_address
from entrypoints.web import views
from entrypoints.web.access import BookingAccess
from entrypoints.web.errors import refusal_text
from entrypoints.web.formatting import Formats, customer_locale
from entrypoints.web.safety import booking_cookie, booking_cookie_name, booking_path
from entrypoints.web.translation import gettext as _
from entrypoints.web.translation import text_language

MAX_NAME = 200
MAX_EMAIL = 254
# More digits than any seat count: int() refuses over 4300 digits (ValueError, a 500).
MAX_SEATS_DIGITS = 6
Seats = Annotated[int, Parameter(ge=1, le=1000)]


@dataclass(frozen=True, slots=True)
class PageSettings:
    """What the pages need of the configuration."""

    default_max_seats_per_booking: int
    secure_cookies: bool


def formats(request: Request[Any, Any, Any], timezone: str) -> Formats:
    return Formats(customer_locale(request.headers.get("accept-language")), timezone)


def page(
    request: Request[Any, Any, Any],
    name: str,
    f: Formats,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """`lang` names the language the text is in (a catalogue's), not the formats' locale."""
    return Template(
        template_name=name,
        context={"lang": text_language(request.headers.get("accept-language")), **context},
        status_code=status_code,
    )


class ShopPages(Controller):
    path = "/book"
    include_in_schema = False

    @get("/{tenant_slug:str}")
    async def shop(
        self,
        request: Request[Any, Any, Any],
        tenant_slug: str,
        customer_pages: CustomerPages,
        list_public_offerings: ListPublicOfferings,
    ) -> Template:
        business = await customer_pages.business(tenant_slug)
        offerings = await list_public_offerings(tenant_slug, limit=200)
        f = formats(request, business.timezone)
        return page(
            request,
            "shop.html",
            f,
            business=business,
            offerings=[views.offering_row(o, f) for o in offerings],
        )

    @get("/{tenant_slug:str}/{offering_id:str}")
    async def slots(
        self,
        request: Request[Any, Any, Any],
        tenant_slug: str,
        offering_id: str,
        customer_pages: CustomerPages,
    ) -> Template:
        found = await customer_pages.offering_slots(tenant_slug, offering_id)
        f = formats(request, found.business.timezone)
        return page(
            request,
            "slots.html",
            f,
            business=found.business,
            offering=views.offering_row(found.offering, f),
            zone=f.zone_name(),
            days=views.slot_days(found, f),
        )

    @get("/{tenant_slug:str}/{offering_id:str}/{slot_id:str}")
    async def booking_form(
        self,
        request: Request[Any, Any, Any],
        tenant_slug: str,
        offering_id: str,
        slot_id: str,
        customer_pages: CustomerPages,
        quote_fee: QuoteFee,
        page_settings: PageSettings,
        seats: Seats = 1,
    ) -> Template:
        found = await customer_pages.offering_slots(tenant_slug, offering_id)
        form = {"name": "", "email": "", "seats": str(seats)}
        return await _form_page(
            request, found, slot_id, form, {}, quote_fee, page_settings, status_code=200
        )

    @post("/{tenant_slug:str}/{offering_id:str}/{slot_id:str}", status_code=303)
    async def book(
        self,
        request: Request[Any, Any, Any],
        tenant_slug: str,
        offering_id: str,
        slot_id: str,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        customer_pages: CustomerPages,
        quote_fee: QuoteFee,
        start_checkout: StartCheckout,
        page_settings: PageSettings,
        rate_limits: RateLimits,
    ) -> Template | Redirect:
        found = await customer_pages.offering_slots(tenant_slug, offering_id)
        form = {key: str(data.get(key, "")).strip() for key in ("name", "email", "seats")}
        errors = _form_errors(form, _seat_limit(found, page_settings, slot_id))
        if not errors and data.get("action") == "book":
            # The same per-client limit as the API's checkout: a form holds seats too.
            client = client_address(request.scope)
            wait = await rate_limits.take_checkout(client)
            if wait is not None:
                raise TooManyRequests("too many checkouts from this address", wait)
            # And the same seats-held limit: one address changing emails holds no more.
            wait = await rate_limits.take_held_seats(client, int(form["seats"]))
            if wait is not None:
                raise TooManyRequests("too many seats held from this address", wait)
            try:
                started = await start_checkout(
                    StartCheckoutCommand(
                        tenant_slug=tenant_slug,
                        slot_id=slot_id,
                        seats=int(form["seats"]),
                        customer_email=form["email"],
                        customer_name=form["name"],
                    )
                )
            except (DomainError, ApplicationError) as error:
                if isinstance(error, NotFound):
                    raise
                errors["form"] = refusal_text(error)
            else:
                return Redirect(
                    started.checkout_url,
                    status_code=303,
                    cookies=[
                        booking_cookie(
                            started.booking_id,
                            started.booking_token,
                            secure=page_settings.secure_cookies,
                        )
                    ],
                )
        return await _form_page(
            request,
            found,
            slot_id,
            form,
            errors,
            quote_fee,
            page_settings,
            status_code=422 if errors else 200,
        )


def _slot(found: OfferingSlots, slot_id: str) -> SlotOnSale:
    entry = next((e for e in found.slots if e.slot.id == slot_id), None)
    if entry is None:
        raise NotFound("slot", slot_id)
    return entry


def _seat_limit(found: OfferingSlots, settings: PageSettings, slot_id: str) -> int:
    """The most seats to offer: the offering's cap per booking, and the seats left."""
    cap = found.offering.seats_per_booking_limit(settings.default_max_seats_per_booking)
    return max(1, min(cap, _slot(found, slot_id).slot.seats_available))


def _form_errors(form: dict[str, str], seat_limit: int) -> dict[str, str]:
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
    seats = _whole_seats(form["seats"])
    if seats is None or not 1 <= seats <= seat_limit:
        errors["seats"] = _("Please choose between 1 and %(most)d seats.") % {"most": seat_limit}
    return errors


def _whole_seats(text: str) -> int | None:
    """The seats asked for; None unless a whole number of at most MAX_SEATS_DIGITS digits."""
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    return int(text) if text.isdecimal() and len(text) <= MAX_SEATS_DIGITS else None


async def _form_page(
    request: Request[Any, Any, Any],
    found: OfferingSlots,
    slot_id: str,
    form: dict[str, str],
    errors: dict[str, str],
    quote_fee: QuoteFee,
    settings: PageSettings,
    *,
    status_code: int,
) -> Template:
    f = formats(request, found.business.timezone)
    entry = _slot(found, slot_id)
    limit = _seat_limit(found, settings, slot_id)
    asked = _whole_seats(form["seats"])
    seats = 1 if asked is None else asked
    quote = None
    if entry.bookable and 1 <= seats <= limit:
        try:
            quoted = await quote_fee.for_customer(found.business.slug, found.offering.id, seats)
        except DomainError as error:
            errors = {**errors, "form": refusal_text(error)}
        else:
            quote = {"rows": views.quote_rows(quoted, f), "total": f.money(quoted.customer_total)}
    return page(
        request,
        "book.html",
        f,
        status_code=status_code,
        business=found.business,
        offering=views.offering_row(found.offering, f),
        when=f.when(entry.slot.starts_at),
        bookable=entry.bookable,
        seats_left=entry.slot.seats_available,
        seat_choices=list(range(1, limit + 1)),
        form=form,
        errors=errors,
        quote=quote,
        slots_url=f"/book/{found.business.slug}/{found.offering.id}",
    )


class BookingPages(Controller):
    """A booking's pages: the token (or its cookie) checked as the API checks it, every
    wrong one counted against the client's limit of failed authentications."""

    path = "/booking"
    include_in_schema = False

    @get("/{booking_id:str}")
    async def booking(
        self,
        request: Request[Any, Any, Any],
        booking_id: str,
        customer_pages: CustomerPages,
        booking_access: BookingAccess,
        page_settings: PageSettings,
        token: Annotated[str | None, Parameter(query="token", max_length=200)] = None,
    ) -> Template | Redirect:
        if token is not None:
            # First visit from a link: keep the token in a cookie, and out of the URL.
            await booking_access(request, lambda: customer_pages.booking(booking_id, token))
            return Redirect(
                booking_path(booking_id),
                status_code=303,
                cookies=[booking_cookie(booking_id, token, secure=page_settings.secure_cookies)],
            )
        cookie = _cookie_token(request, booking_id)
        found = await booking_access(request, lambda: customer_pages.booking(booking_id, cookie))
        f = formats(request, found.business.timezone)
        return page(request, "booking.html", f, booking=views.booking_view(found, f))

    @get("/{booking_id:str}/cancel")
    async def confirm_cancel(
        self,
        request: Request[Any, Any, Any],
        booking_id: str,
        customer_pages: CustomerPages,
        booking_access: BookingAccess,
    ) -> Template | Redirect:
        cookie = _cookie_token(request, booking_id)
        found = await booking_access(request, lambda: customer_pages.booking(booking_id, cookie))
        if found.cancel_refund is None:
            return Redirect(booking_path(booking_id), status_code=303)
        f = formats(request, found.business.timezone)
        return page(request, "cancel.html", f, booking=views.booking_view(found, f))

    @post("/{booking_id:str}/cancel", status_code=303)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        booking_id: str,
        cancel_booking: CancelBooking,
        booking_access: BookingAccess,
    ) -> Redirect:
        command = CancelCommand(
            booking_id=booking_id,
            by=CancelledBy.CUSTOMER,
            token=_cookie_token(request, booking_id),
        )
        await booking_access(request, lambda: cancel_booking(command))
        return Redirect(booking_path(booking_id), status_code=303)


def _cookie_token(request: Request[Any, Any, Any], booking_id: str) -> str:
    """The booking's cookie; none is NotFound, not counted (no token was presented)."""
    token = request.cookies.get(booking_cookie_name(booking_id))
    if not token:
        raise NotFound("booking", booking_id)
    return token
