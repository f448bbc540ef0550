"""/v1/tenant: a tenant (by its API key) manages its bookings and money: cancels, refunds,
the fee quote and its statement (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter

from application.booking_queries import BookingQueries
from application.cancel_booking import CancelBooking, CancelCommand
from application.quote_fee import QuoteFee
from application.refund_booking import RefundBooking, RefundCommand
from application.statements import TenantStatement
from domain.booking import BookingStatus, CancelledBy, PaymentStatus
from domain.offering import MAX_SEATS_PER_BOOKING
from domain.tenant import Tenant
from entrypoints.http import mapping as m
from entrypoints.http import schemas as s
from entrypoints.http.auth import authenticated_tenant
from entrypoints.http.openapi import CSV_STATEMENT, documented, location, problems
from entrypoints.http.params import (
    DEFAULT_LIMIT,
    Cursor,
    From,
    Limit,
    To,
    after_moment,
    moment,
)

StatementFormat = Annotated[
    s.StatementFormat | None,
    Parameter(
        description="`csv` is the same as `Accept: text/csv`; without it the Accept header "
        "decides (JSON by default)",
    ),
]
_REFUSED = "The booking cannot change this way (e.g. a dispute is open, or nothing is left "
_REFUSED += "to refund); an Idempotency-Key reused with another body"


RefundIdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        max_length=255,
        description="a retry with the same key and body returns the first response; after "
        "a 503 it makes the refund at most once",
    ),
]


class TenantMoneyController(Controller):
    path = "/v1/tenant"
    tags = ["tenant"]  # noqa: RUF012 - Litestar reads these as class attributes
    dependencies = {"tenant": Provide(authenticated_tenant)}  # noqa: RUF012
    security = [{"bearer": []}]  # noqa: RUF012

    @get(
        "/bookings",
        operation_id="listBookings",
        summary="List bookings, newest first",
        description="`from`/`to` bound the booked slot's start (not when it was booked). "
        "Paginated with `limit` and `cursor`.",
        responses=problems(401),
    )
    async def list_bookings(
        self,
        tenant: Tenant,
        booking_queries: BookingQueries,
        status: BookingStatus | None = None,
        payment_status: PaymentStatus | None = None,
        since: From = None,
        until: To = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> s.BookingPage:
        after_moment(cursor)  # a forged cursor is the client's mistake: 400 under `cursor`
        found = await booking_queries.list_for_tenant(
            tenant.id,
            statuses=(status,) if status else (),
            payment_statuses=(payment_status,) if payment_status else (),
            starts_from=moment(since, "from"),
            starts_before=moment(until, "to"),
            limit=limit,
            cursor=cursor,
        )
        return s.BookingPage(
            data=[m.booking_out(b, for_tenant=True) for b in found.items],
            next_cursor=found.next_cursor,
        )

    @get(
        "/bookings/{booking_id:str}",
        operation_id="getBooking",
        summary="One booking with its fee quote and ledger",
        responses=problems(401, 404),
    )
    async def get_booking(
        self, tenant: Tenant, booking_id: str, booking_queries: BookingQueries
    ) -> s.TenantBooking:
        detail = await booking_queries.for_tenant(tenant.id, booking_id)
        return m.tenant_booking_out(detail.booking, detail.ledger, detail.disputes)

    @post(
        "/bookings/{booking_id:str}/cancel",
        operation_id="cancelBooking",
        status_code=200,
        summary="Cancel: a full refund, or an unpaid booking's seats released",
        description="The body is optional. Paid: cancelled with a full refund. Unpaid (in "
        "checkout, or awaiting a delayed payment): its Checkout Session is expired first, then "
        "its seats are released (status expired).",
        responses=problems(401, 404, 409, 502, 503, why_409=_REFUSED),
        operation_class=documented(optional_body=True),
    )
    async def cancel_booking(
        self,
        tenant: Tenant,
        booking_id: str,
        cancel_booking: CancelBooking,
        booking_queries: BookingQueries,
        data: s.CancelRequest | None = None,
    ) -> s.TenantBooking:
        await cancel_booking(
            CancelCommand(
                booking_id=booking_id,
                by=CancelledBy.TENANT,
                tenant_id=tenant.id,
                reason=data.reason if data else None,
            )
        )
        detail = await booking_queries.for_tenant(tenant.id, booking_id)
        return m.tenant_booking_out(detail.booking, detail.ledger, detail.disputes)

    @post(
        "/bookings/{booking_id:str}/refunds",
        operation_id="refundBooking",
        status_code=201,
        summary="Partial or full refund",
        description="The body is optional: without `amount`, everything not yet refunded "
        "goes back. Send an Idempotency-Key: a retry with it never refunds twice.",
        response_description="The refund was made; the booking with its ledger",
        response_headers=location("the booking refunded"),
        responses=problems(401, 404, 409, 422, 502, 503, why_409=_REFUSED),
        operation_class=documented(optional_body=True),
    )
    async def refund_booking(
        self,
        tenant: Tenant,
        booking_id: str,
        refund_booking: RefundBooking,
        booking_queries: BookingQueries,
        data: s.RefundCreate | None = None,
        idempotency_key: RefundIdempotencyKey = None,
    ) -> Response[s.TenantBooking]:
        amount = m.money_in(data.amount) if data and data.amount else None
        await refund_booking(RefundCommand(tenant.id, booking_id, amount, idempotency_key))
        detail = await booking_queries.for_tenant(tenant.id, booking_id)
        return Response(
            m.tenant_booking_out(detail.booking, detail.ledger, detail.disputes),
            status_code=201,
            headers={"Location": f"/v1/tenant/bookings/{booking_id}"},
        )

    @get(
        "/fee-quote",
        operation_id="getFeeQuote",
        summary="The fee breakdown a customer would see",
        responses=problems(401, 404, 422, why_422="The amount cannot be charged"),
    )
    async def fee_quote(
        self,
        tenant: Tenant,
        quote_fee: QuoteFee,
        offering_id: str,
        seats: Annotated[int, Parameter(ge=1, le=MAX_SEATS_PER_BOOKING)] = 1,
    ) -> s.Quote:
        return m.quote_out(await quote_fee(tenant.id, offering_id, seats))

    @get(
        "/statement",
        operation_id="getStatement",
        summary="Gross, refunds, fees, fee refunds and net per currency (JSON or CSV)",
        description="`from`/`to` bound when the money moved (the ledger entry's time), not "
        "the slot's start. JSON amounts are Money in minor units; `Accept: text/csv` (or "
        "`format=csv`) gives the same lines as CSV with amounts in major units (`42.30`) "
        "and the currency in its own column.",
        media_type="application/json",
        responses=problems(401),
        operation_class=documented(extra_content=CSV_STATEMENT),
    )
    async def statement(
        self,
        request: Request[Any, Any, Any],
        tenant: Tenant,
        tenant_statement: TenantStatement,
        since: From = None,
        until: To = None,
        # Named as in the query, so that a bad value is reported under `format`.
        format: StatementFormat = None,
    ) -> Response[s.Statement]:
        lines = [
            m.statement_line_out(line)
            for line in await tenant_statement(
                tenant.id, since=moment(since, "from"), until=moment(until, "to")
            )
        ]
        as_csv = format is s.StatementFormat.CSV or (
            format is None and "text/csv" in request.headers.get("accept", "")
        )
        if as_csv:
            # Litestar adds the charset of a text/* type itself: naming it here sent it twice.
            return Response(content=_csv(lines), media_type="text/csv")  # type: ignore[arg-type]
        return Response(content=s.Statement(data=lines))


def _csv(lines: list[s.StatementLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["currency", "bookings", "gross", "refunds", "fees", "fee_refunds", "disputes", "net"]
    )
    for line in lines:
        writer.writerow(
            [
                line.currency.upper(),
                line.bookings,
                *(
                    m.major_units(amount)
                    for amount in (
                        line.gross,
                        line.refunds,
                        line.fees,
                        line.fee_refunds,
                        line.disputes,
                        line.net,
                    )
                ),
            ]
        )
    return out.getvalue()
