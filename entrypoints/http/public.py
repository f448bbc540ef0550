"""/v1/public: customers browse offerings, check out, follow and cancel their booking.

Everything here shows the customer's side only (API.md): prices, what they pay and what
they got back; never the fee policy, the application fee or what the tenant receives.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import SecurityScheme
from litestar.params import Parameter
from litestar.response import Redirect

from adapters.rate_limits.limiter import RateLimits
from application.booking_queries import BookingQueries
from application.cancel_booking import CancelBooking, CancelCommand
from application.quote_fee import QuoteFee
from application.slot_queries import ListAvailability, ListPublicOfferings
from application.start_checkout import StartCheckout, StartCheckoutCommand
from domain.booking import BookingStatus, CancelledBy
from domain.offering import MAX_SEATS_PER_BOOKING
from entrypoints.http import mapping as m
from entrypoints.http import schemas as s
from entrypoints.http.auth import booking_token
from entrypoints.http.caching import (
    AVAILABILITY_MAX_AGE_SECONDS,
    NOT_MODIFIED,
    cache_headers,
    cached_json,
)
from entrypoints.http.openapi import location, problems
from entrypoints.http.params import (
    DEFAULT_LIMIT,
    Cursor,
    From,
    Limit,
    To,
    after_moment,
    after_text,
    moment,
    page,
)
from entrypoints.http.throttling import TooManyRequests, client_address
from entrypoints.web.errors import PAGE_EXCEPTION_HANDLERS, html_pages

Token = Annotated[
    str | None,
    Parameter(
        query="token",
        min_length=8,
        max_length=200,
        description="the booking token; better sent as `Authorization: Bearer <token>`, "
        "which stays out of access logs and Referer headers",
    ),
]
# How a generated client sends the booking token: `Authorization: Bearer` (recommended) or
# the `token` query parameter; each public booking route accepts either.
BOOKING_TOKEN_SCHEMES = {
    "bookingToken": SecurityScheme(
        type="http",
        scheme="bearer",
        description="The booking token from the checkout (stays out of logs and Referer)",
    ),
    "bookingTokenQuery": SecurityScheme(
        type="apiKey",
        name="token",
        security_scheme_in="query",
        description="The booking token in the query string (lands in access logs)",
    ),
}
BOOKING_TOKEN: list[dict[str, list[str]]] = [{"bookingToken": []}, {"bookingTokenQuery": []}]
Seats = Annotated[int, Parameter(ge=1, le=MAX_SEATS_PER_BOOKING, description="number of seats")]
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        min_length=22,
        max_length=255,
        description="a retry with the same key and body returns the first response; "
        "at least 22 characters (e.g. a UUID), so that nobody can guess it",
    ),
]


class PublicController(Controller):
    path = "/v1/public"
    tags = ["public"]  # noqa: RUF012 - Litestar reads these as class attributes

    @get(
        "/{tenant_slug:str}/offerings",
        operation_id="listPublicOfferings",
        summary="Active offerings with their price",
        description="By name; paginated with `limit` and `cursor`.",
        responses=problems(404),
    )
    async def offerings(
        self,
        tenant_slug: str,
        list_public_offerings: ListPublicOfferings,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> s.PublicOfferingPage:
        found = await list_public_offerings(tenant_slug, after=after_text(cursor), limit=limit + 1)
        shown, next_cursor = page(found, limit, lambda o: (o.name, o.id))
        return s.PublicOfferingPage(
            data=[m.public_offering_out(o) for o in shown], next_cursor=next_cursor
        )

    @get(
        "/{tenant_slug:str}/offerings/{offering_id:str}/slots",
        operation_id="listPublicSlots",
        summary="Future slots with the seats still available",
        description="By start time; `from`/`to` bound the slot's start. Paginated with "
        "`limit` and `cursor`. Cacheable for a few seconds (`Cache-Control: public, "
        f"max-age={AVAILABILITY_MAX_AGE_SECONDS}`); revalidate with `If-None-Match` and "
        "the `ETag`, answered 304 while nothing changed. Seats are checked again at "
        "checkout.",
        responses={**problems(404), **NOT_MODIFIED},
        response_headers=cache_headers(AVAILABILITY_MAX_AGE_SECONDS),
    )
    async def slots(
        self,
        request: Request[Any, Any, Any],
        tenant_slug: str,
        offering_id: str,
        list_availability: ListAvailability,
        since: From = None,
        until: To = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[s.SlotPage]:
        availability = await list_availability(
            tenant_slug,
            offering_id,
            starts_from=moment(since, "from"),
            starts_before=moment(until, "to"),
            after=after_moment(cursor),
            limit=limit + 1,
        )
        shown, next_cursor = page(availability.slots, limit, lambda sl: (sl.starts_at, sl.id))
        found = s.SlotPage(data=[m.slot_out(slot) for slot in shown], next_cursor=next_cursor)
        return cached_json(request, found, max_age=AVAILABILITY_MAX_AGE_SECONDS)

    @get(
        "/{tenant_slug:str}/fee-quote",
        operation_id="getPublicFeeQuote",
        summary="What the customer would pay, before checkout",
        description="The customer's side only: subtotal, the service fee they pay on top "
        "(zero when the tenant bears the fee) and the total.",
        responses=problems(404, 422, why_422="The amount cannot be charged"),
    )
    async def fee_quote(
        self, tenant_slug: str, quote_fee: QuoteFee, offering_id: str, seats: Seats = 1
    ) -> s.PublicQuote:
        return m.public_quote_out(await quote_fee.for_customer(tenant_slug, offering_id, seats))

    @post(
        "/{tenant_slug:str}/checkout",
        operation_id="createCheckout",
        status_code=201,
        summary="Hold seats and open a hosted checkout",
        response_description="The seats are held; pay at `checkout_url` before `expires_at`",
        response_headers=location("the booking (GET it with the booking token)"),
        responses=problems(
            404,
            409,
            422,
            502,
            503,
            why_409="The seats are not available or the slot is cancelled, or an "
            "Idempotency-Key reused with another body",
            why_422="The tenant cannot take charges yet, the total is below the currency's "
            "minimum or above Stripe's maximum, the seats exceed what one booking may take "
            "(the offering's max_seats_per_booking, or without one half the slot, rounded up, "
            "and at most the platform's default of 10), or a return URL's host is not allowed",
        ),
    )
    async def checkout(
        self,
        request: Request[Any, Any, Any],
        tenant_slug: str,
        data: s.CheckoutCreate,
        start_checkout: StartCheckout,
        rate_limits: RateLimits,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.CheckoutCreated]:
        # One address changing emails cannot hold seats unbounded: checked before the hold,
        # counted once it is held (a refused checkout costs the address nothing).
        client = client_address(request.scope)
        wait = await rate_limits.held_seats_refused(client, data.seats)
        if wait is not None:
            raise TooManyRequests("too many seats held from this address", wait)
        started = await start_checkout(
            StartCheckoutCommand(
                tenant_slug=tenant_slug,
                slot_id=data.slot_id,
                seats=data.seats,
                customer_email=data.customer.email,
                customer_name=data.customer.name,
                success_url=data.success_url,
                cancel_url=data.cancel_url,
                idempotency_key=idempotency_key,
                client=client,
            )
        )
        await rate_limits.count_held_seats(client, data.seats)
        created = s.CheckoutCreated(
            booking_id=started.booking_id,
            booking_token=started.booking_token,
            checkout_url=started.checkout_url,
            expires_at=started.expires_at,
            quote=m.public_quote_out(started.quote),
        )
        return Response(
            created,
            status_code=201,
            headers={"Location": f"/v1/public/bookings/{started.booking_id}"},
        )

    @get(
        "/bookings/{booking_id:str}",
        operation_id="getPublicBooking",
        security=BOOKING_TOKEN,
        summary="The booking's status, for its customer",
        responses=problems(404, why_404="No such booking, or a wrong token"),
    )
    async def booking(
        self,
        request: Request[Any, Any, Any],
        booking_id: str,
        booking_queries: BookingQueries,
        token: Token = None,
    ) -> s.PublicBooking:
        return m.public_booking_out(
            await booking_queries.for_customer(booking_id, booking_token(request, token))
        )

    @get(
        "/bookings/{booking_id:str}/checkout-left",
        operation_id="leaveCheckout",
        security=BOOKING_TOKEN,
        status_code=303,
        summary="Where the hosted checkout's Cancel button leads",
        description="Ends the unpaid booking's hold at once (its Checkout Session expired "
        "first), then redirects to the platform's cancel_url, or without one to the hosted "
        "booking page (`/booking/{booking_id}`). A paid booking is left as it is. A browser "
        "comes here: a refusal is an HTML page in words, not problem details.",
        response_class=Response,
        responses=html_pages(401, 404, 429, 502, 503, why_404="No such booking, or a wrong token"),
        # Only browsers come here (Stripe sends them): every refusal is a page in words.
        exception_handlers=PAGE_EXCEPTION_HANDLERS,
    )
    async def checkout_left(
        self, booking_id: str, token: Token, cancel_booking: CancelBooking
    ) -> Response[Any]:
        booking = await cancel_booking.leave_checkout(booking_id, token or "")
        if booking.status is BookingStatus.EXPIRED and booking.cancel_url:
            return Redirect(booking.cancel_url, status_code=303)
        # Without a platform page: the hosted booking page says what happened (paid
        # meanwhile included: never "nothing was charged") and leads back to the slots.
        return Redirect(f"/booking/{booking_id}?token={quote(token or '')}", status_code=303)

    @post(
        "/bookings/{booking_id:str}/cancel",
        operation_id="cancelPublicBooking",
        security=BOOKING_TOKEN,
        status_code=200,
        summary="Cancel under the booking's own terms, or abandon an unpaid booking",
        description="Paid: refunded under the terms it was sold under; 409 outside every "
        "cancellation window. Unpaid: its Checkout Session is expired and its seats released "
        "at once (status expired).",
        responses=problems(
            404,
            409,
            502,
            503,
            why_409="Outside every cancellation window, or while a dispute is open",
        ),
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        booking_id: str,
        cancel_booking: CancelBooking,
        token: Token = None,
    ) -> s.PublicBooking:
        booking = await cancel_booking(
            CancelCommand(
                booking_id=booking_id,
                by=CancelledBy.CUSTOMER,
                token=booking_token(request, token),
            )
        )
        return m.public_booking_out(booking)
