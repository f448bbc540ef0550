"""The customer's pages: the shop, an offering's slots, the booking form, the booking.

Each handler reads the request, calls one use case and renders a template; every rule
(what is on sale, what a quote is, what cancelling gives back) belongs to the use cases.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from adapters.rate_limits.limiter import RateLimits
from application.cancel_booking import CancelBooking, CancelCommand
from application.customer_pages import CustomerPages
from application.errors import ApplicationError, Conflict, NotFound, TooManySeatsHeldFromClient
from application.ports.repositories import AlreadyExists
from application.quote_fee import QuoteFee
from application.slot_queries import ListPublicOfferings
from application.start_checkout import StartCheckout, StartCheckoutCommand
from domain.booking import CancelledBy
from domain.errors import DomainError
from entrypoints.http.throttling import TooManyRequests, client_address
from entrypoints.web import views
from entrypoints.web.access import BookingAccess
from entrypoints.web.booking_form import (
    FIELDS,
    PageSettings,
    SlotGone,
    form_errors,
    form_page,
    formats,
    page,
    requested_seats,
    seat_limit,
    slot_gone_page,
    submission_key,
    submission_token,
    total_not_shown,
)
from entrypoints.web.errors import refusal_text
from entrypoints.web.safety import booking_cookie, booking_cookie_name, booking_path
from entrypoints.web.translation import gettext as _


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
        # A link's ?seats= that is not a whole number is ignored: the form starts at 1.
        seats: Annotated[str | None, Parameter(query="seats", max_length=200)] = None,
    ) -> Template:
        found = await customer_pages.offering_slots(tenant_slug, offering_id)
        form = dict.fromkeys(FIELDS, "") | {"seats": requested_seats(seats)}
        try:
            return await form_page(
                request, found, slot_id, form, {}, quote_fee, page_settings, status_code=200
            )
        except SlotGone:
            return slot_gone_page(request, found, status_code=410)

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
        form = {key: str(data.get(key, "")).strip() for key in FIELDS}
        try:
            errors = form_errors(form, seat_limit(found, page_settings, slot_id))
        except SlotGone:
            return slot_gone_page(request, found, status_code=410)
        notice = None
        wait: TooManySeatsHeldFromClient | None = None
        if not errors and data.get("action") == "book":
            if total_not_shown(form):
                # Never a total the customer was not shown: show it, and ask again.
                notice = _("The total changed with the seats. Please check it, then continue.")
            else:
                try:
                    return await self._start(
                        request,
                        tenant_slug,
                        slot_id,
                        form,
                        start_checkout,
                        page_settings,
                        rate_limits,
                    )
                except (DomainError, ApplicationError) as error:
                    if isinstance(error, NotFound):
                        raise
                    if isinstance(error, TooManySeatsHeldFromClient):
                        wait = error  # said beside the form, with when to come back
                    errors["form"] = (
                        # This very submission was sent before and its checkout has ended.
                        _("This form was sent already. Please check it, then continue again.")
                        if isinstance(error, Conflict)
                        else refusal_text(error)
                    )
        try:
            return await form_page(
                request,
                found,
                slot_id,
                form,
                errors,
                quote_fee,
                page_settings,
                status_code=422 if errors else 200,
                notice=notice,
                wait=wait,
            )
        except SlotGone:
            return slot_gone_page(request, found, status_code=410)

    @staticmethod
    async def _start(
        request: Request[Any, Any, Any],
        tenant_slug: str,
        slot_id: str,
        form: dict[str, str],
        start_checkout: StartCheckout,
        page_settings: PageSettings,
        rate_limits: RateLimits,
    ) -> Redirect:
        # The same per-client limit as the API's checkout: a form holds seats too.
        client = client_address(request.scope)
        wait = await rate_limits.take_checkout(client)
        if wait is not None:
            raise TooManyRequests("too many checkouts from this address", wait)
        # And the same seats-held limit: one address changing emails holds no more (counted
        # once the seats are held: a refused checkout costs nothing).
        wait = await rate_limits.held_seats_refused(client, int(form["seats"]))
        if wait is not None:
            raise TooManyRequests("too many seats held from this address", wait)
        key = submission_key(form, slot_id)
        command = StartCheckoutCommand(
            tenant_slug=tenant_slug,
            slot_id=slot_id,
            seats=int(form["seats"]),
            customer_email=form["email"],
            customer_name=form["name"],
            idempotency_key=key,
            booking_token=None if key is None else submission_token(page_settings, key),
            client=client,
        )
        try:
            started = await start_checkout(command)
        except AlreadyExists:
            # The same submission, posted at the same moment, held the seats first: resume
            # its checkout (one hold, one checkout).
            started = await start_checkout(command)
        await rate_limits.count_held_seats(client, command.seats)
        return Redirect(
            started.checkout_url,
            status_code=303,
            cookies=[
                booking_cookie(
                    started.booking_id, started.booking_token, secure=page_settings.secure_cookies
                )
            ],
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
