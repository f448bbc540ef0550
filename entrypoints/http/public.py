"""/v1/public: customers browse offerings, check out, follow and cancel their booking."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Redirect

from application.booking_queries import BookingQueries
from application.cancel_booking import CancelBooking, CancelCommand
from application.manage_slots import ListAvailability, ListPublicOfferings
from application.start_checkout import StartCheckout, StartCheckoutCommand
from domain.booking import CancelledBy
from entrypoints.http import mapping as m
from entrypoints.http import schemas as s
from entrypoints.http.auth import booking_token

From = Annotated[datetime | None, Parameter(query="from", description="inclusive, RFC 3339")]
To = Annotated[datetime | None, Parameter(query="to", description="exclusive, RFC 3339")]
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

    @get("/{tenant_slug:str}/offerings", summary="Active offerings with their price")
    async def offerings(
        self, tenant_slug: str, list_public_offerings: ListPublicOfferings
    ) -> s.Page[s.Offering]:
        offerings = await list_public_offerings(tenant_slug)
        return s.Page(data=[m.offering_out(o) for o in offerings], next_cursor=None)

    @get(
        "/{tenant_slug:str}/offerings/{offering_id:str}/slots",
        summary="Future slots with the seats still available",
    )
    async def slots(
        self,
        tenant_slug: str,
        offering_id: str,
        list_availability: ListAvailability,
        since: From = None,
        until: To = None,
    ) -> s.Page[s.Slot]:
        availability = await list_availability(
            tenant_slug, offering_id, starts_from=since, starts_before=until
        )
        return s.Page(data=[m.slot_out(slot) for slot in availability.slots], next_cursor=None)

    @post(
        "/{tenant_slug:str}/checkout",
        status_code=201,
        summary="Hold seats and open a hosted checkout",
        description="409 when the seats are not available or the slot is cancelled; 422 when "
        "the tenant cannot take charges yet, the total is below the currency's minimum charge, "
        "or the seats exceed the offering's max_seats_per_booking.",
    )
    async def checkout(
        self,
        tenant_slug: str,
        data: s.CheckoutCreate,
        start_checkout: StartCheckout,
        idempotency_key: IdempotencyKey = None,
    ) -> s.CheckoutCreated:
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
            )
        )
        return s.CheckoutCreated(
            booking_id=started.booking_id,
            booking_token=started.booking_token,
            checkout_url=started.checkout_url,
            expires_at=started.expires_at,
            quote=m.quote_out(started.quote),
        )

    @get("/bookings/{booking_id:str}", summary="The booking's status, for its customer")
    async def booking(
        self,
        request: Request[Any, Any, Any],
        booking_id: str,
        booking_queries: BookingQueries,
        token: Token = None,
    ) -> s.Booking:
        return m.booking_out(
            await booking_queries.for_customer(booking_id, booking_token(request, token))
        )

    @get(
        "/bookings/{booking_id:str}/checkout-left",
        status_code=303,
        summary="Where the hosted checkout's Cancel button leads",
        description="Ends the unpaid booking's hold at once (its Checkout Session expired "
        "first), then redirects to the platform's cancel_url, or shows a plain page without "
        "one. A paid booking is left as it is.",
        response_class=Response,
    )
    async def checkout_left(
        self, booking_id: str, token: Token, cancel_booking: CancelBooking
    ) -> Response[Any]:
        booking = await cancel_booking.leave_checkout(booking_id, token)
        if booking.cancel_url:
            return Redirect(booking.cancel_url, status_code=303)
        return Response(content=_LEFT_PAGE, media_type=MediaType.HTML, status_code=200)

    @post(
        "/bookings/{booking_id:str}/cancel",
        status_code=200,
        summary="Cancel under the booking's own terms, or abandon an unpaid booking",
        description="Paid: refunded under the terms it was sold under; 409 outside every "
        "cancellation window. Unpaid: its Checkout Session is expired and its seats released "
        "at once (status expired).",
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        booking_id: str,
        cancel_booking: CancelBooking,
        token: Token = None,
    ) -> s.Booking:
        booking = await cancel_booking(
            CancelCommand(
                booking_id=booking_id,
                by=CancelledBy.CUSTOMER,
                token=booking_token(request, token),
            )
        )
        return m.booking_out(booking)


_LEFT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Booking not completed</title></head>
<body><main><h1>Your booking was not completed</h1>
<p>Nothing was charged, and the seats you picked are free again.</p></main></body></html>
"""
