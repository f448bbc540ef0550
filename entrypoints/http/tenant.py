"""/v1/tenant: a tenant (by its API key) manages offerings, slots, bookings and money."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter

from application.booking_queries import BookingQueries
from application.cancel_booking import CancelBooking, CancelCommand
from application.errors import InvalidRequest
from application.manage_offerings import (
    ArchiveOffering,
    CreateOffering,
    NewOffering,
    OfferingChanges,
    OfferingQueries,
    UpdateOffering,
)
from application.manage_slots import (
    AddSlots,
    CancelSlot,
    NewSlots,
    ResizeSlot,
    SlotCancellation,
    SlotResize,
    SlotSpec,
)
from application.quote_fee import QuoteFee
from application.refund_booking import RefundBooking, RefundCommand
from application.start_onboarding import StartOnboarding, StartOnboardingCommand
from application.statements import TenantStatement
from application.tenant_queries import TenantQueries
from domain.booking import BookingStatus, CancelledBy, PaymentStatus
from domain.tenant import Tenant
from entrypoints.http import mapping as m
from entrypoints.http import schemas as s
from entrypoints.http.auth import authenticated_tenant

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
From = Annotated[datetime | None, Parameter(query="from", description="inclusive, RFC 3339")]
To = Annotated[datetime | None, Parameter(query="to", description="exclusive, RFC 3339")]


RefundIdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        max_length=255,
        description="a retry with the same key and body returns the first response; after "
        "a 503 it makes the refund at most once",
    ),
]


class TenantController(Controller):
    path = "/v1/tenant"
    tags = ["tenant"]  # noqa: RUF012 - Litestar reads these as class attributes
    dependencies = {"tenant": Provide(authenticated_tenant)}  # noqa: RUF012
    security = [{"bearer": []}]  # noqa: RUF012

    @get("/", summary="Own profile, Connect status and active fee policy")
    async def profile(self, tenant: Tenant, tenant_queries: TenantQueries) -> s.Tenant:
        view = await tenant_queries.get(tenant.id)
        return m.tenant_out(view.tenant, view.fee_policy)

    @post("/connect/onboarding-link", status_code=200, summary="Stripe onboarding link")
    async def onboarding_link(
        self, request: Request[Any, Any, Any], tenant: Tenant, start_onboarding: StartOnboarding
    ) -> s.OnboardingLink:
        base = request.app.state.public_base_url
        link = await start_onboarding(
            StartOnboardingCommand(
                tenant_id=tenant.id,
                refresh_url=f"{base}/v1/tenant/connect/status",
                return_url=f"{base}/v1/tenant/connect/status",
            )
        )
        return s.OnboardingLink(url=link.url, expires_at=link.expires_at)

    @get("/connect/status", summary="Connect account status")
    async def connect_status(self, tenant: Tenant) -> s.ConnectStatus:
        return m.connect_out(tenant.connect)

    # --- offerings -----------------------------------------------------------------

    @post("/offerings", status_code=201, summary="Create an offering")
    async def create_offering(
        self, tenant: Tenant, data: s.OfferingCreate, create_offering: CreateOffering
    ) -> s.Offering:
        offering = await create_offering(
            NewOffering(
                tenant_id=tenant.id,
                name=data.name,
                price=m.money_in(data.price),
                duration_minutes=data.duration_minutes,
                capacity=data.capacity,
                description=data.description or "",
                cancellation_policy=(
                    m.cancellation_policy_in(data.cancellation_policy)
                    if data.cancellation_policy
                    else None
                ),
                sets_fee_policy=data.fee_policy is not msgspec.UNSET,
                max_seats_per_booking=data.max_seats_per_booking,
            )
        )
        return m.offering_out(offering)

    @get("/offerings", summary="List offerings, archived ones included")
    async def list_offerings(
        self, tenant: Tenant, offering_queries: OfferingQueries
    ) -> s.Page[s.Offering]:
        offerings = await offering_queries.list(tenant.id, include_archived=True)
        return s.Page(data=[m.offering_out(o) for o in offerings], next_cursor=None)

    @get("/offerings/{offering_id:str}", summary="One offering")
    async def get_offering(
        self, tenant: Tenant, offering_id: str, offering_queries: OfferingQueries
    ) -> s.Offering:
        return m.offering_out(await offering_queries.get(tenant.id, offering_id))

    @patch("/offerings/{offering_id:str}", summary="Change an offering")
    async def update_offering(
        self,
        tenant: Tenant,
        offering_id: str,
        data: s.OfferingPatch,
        update_offering: UpdateOffering,
    ) -> s.Offering:
        changes: dict[str, Any] = {}
        for field in data.__struct_fields__:
            value = getattr(data, field)
            if value is msgspec.UNSET:
                continue
            if field == "price":
                value = m.money_in(value)
            elif field == "cancellation_policy" and value is not None:
                value = m.cancellation_policy_in(value)
            elif field == "description":
                value = value or ""
            changes[field] = value
        offering = await update_offering(OfferingChanges(tenant.id, offering_id, changes))
        return m.offering_out(offering)

    @delete("/offerings/{offering_id:str}", status_code=200, summary="Archive an offering")
    async def archive_offering(
        self, tenant: Tenant, offering_id: str, archive_offering: ArchiveOffering
    ) -> s.Offering:
        return m.offering_out(await archive_offering(tenant.id, offering_id))

    @post("/offerings/{offering_id:str}/slots", status_code=201, summary="Add slots")
    async def add_slots(
        self, tenant: Tenant, offering_id: str, data: s.SlotsCreate, add_slots: AddSlots
    ) -> s.Page[s.Slot]:
        if (data.starts_at is None) == (data.slots is None):
            raise InvalidRequest("give either 'starts_at' or 'slots', not both or neither")
        specs = (
            [SlotSpec(data.starts_at, data.capacity)]
            if data.starts_at is not None
            else [SlotSpec(spec.starts_at, spec.capacity) for spec in data.slots or ()]
        )
        slots = await add_slots(NewSlots(tenant.id, offering_id, tuple(specs)))
        return s.Page(data=[m.slot_out(slot) for slot in slots], next_cursor=None)

    @patch("/slots/{slot_id:str}", summary="Change a slot's capacity")
    async def resize_slot(
        self, tenant: Tenant, slot_id: str, data: s.SlotPatch, resize_slot: ResizeSlot
    ) -> s.Slot:
        return m.slot_out(await resize_slot(SlotResize(tenant.id, slot_id, data.capacity)))

    @post(
        "/slots/{slot_id:str}/cancel",
        status_code=200,
        summary="Cancel a slot: no more sales, every booking on it ended and refunded",
    )
    async def cancel_slot(
        self,
        tenant: Tenant,
        slot_id: str,
        cancel_slot: CancelSlot,
        data: s.SlotCancel | None = None,
    ) -> s.Slot:
        cancelled = await cancel_slot(
            SlotCancellation(tenant.id, slot_id, data.reason if data else None)
        )
        return m.slot_out(cancelled.slot)

    # --- bookings and money --------------------------------------------------------

    @get("/bookings", summary="List bookings, newest first")
    async def list_bookings(
        self,
        tenant: Tenant,
        booking_queries: BookingQueries,
        status: BookingStatus | None = None,
        payment_status: PaymentStatus | None = None,
        since: From = None,
        until: To = None,
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> s.Page[s.Booking]:
        page = await booking_queries.list_for_tenant(
            tenant.id,
            statuses=(status,) if status else (),
            payment_statuses=(payment_status,) if payment_status else (),
            starts_from=since,
            starts_before=until,
            limit=limit,
            cursor=cursor,
        )
        return s.Page(
            data=[m.booking_out(b, for_tenant=True) for b in page.items],
            next_cursor=page.next_cursor,
        )

    @get("/bookings/{booking_id:str}", summary="One booking with its fee quote and ledger")
    async def get_booking(
        self, tenant: Tenant, booking_id: str, booking_queries: BookingQueries
    ) -> s.TenantBooking:
        detail = await booking_queries.for_tenant(tenant.id, booking_id)
        return m.tenant_booking_out(detail.booking, detail.ledger, detail.disputes)

    @post(
        "/bookings/{booking_id:str}/cancel",
        status_code=200,
        summary="Cancel: a full refund, or an unpaid booking's seats released",
        description="Paid: cancelled with a full refund. Unpaid (in checkout, or awaiting a "
        "delayed payment): its Checkout Session is expired first, then its seats are released "
        "(status expired).",
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

    @post("/bookings/{booking_id:str}/refunds", status_code=201, summary="Partial or full refund")
    async def refund_booking(
        self,
        tenant: Tenant,
        booking_id: str,
        refund_booking: RefundBooking,
        booking_queries: BookingQueries,
        data: s.RefundCreate | None = None,
        idempotency_key: RefundIdempotencyKey = None,
    ) -> s.TenantBooking:
        amount = m.money_in(data.amount) if data and data.amount else None
        await refund_booking(RefundCommand(tenant.id, booking_id, amount, idempotency_key))
        detail = await booking_queries.for_tenant(tenant.id, booking_id)
        return m.tenant_booking_out(detail.booking, detail.ledger, detail.disputes)

    @get("/fee-quote", summary="The fee breakdown a customer would see")
    async def fee_quote(
        self,
        tenant: Tenant,
        quote_fee: QuoteFee,
        offering_id: str,
        seats: Annotated[int, Parameter(ge=1, le=1000)] = 1,
    ) -> s.Quote:
        return m.quote_out(await quote_fee(tenant.id, offering_id, seats))

    @get(
        "/statement",
        summary="Gross, refunds, fees, fee refunds and net per currency (JSON or CSV)",
        media_type="application/json",
    )
    async def statement(
        self,
        request: Request[Any, Any, Any],
        tenant: Tenant,
        tenant_statement: TenantStatement,
        since: From = None,
        until: To = None,
    ) -> Response[Any]:
        lines = [
            m.statement_line_out(line)
            for line in await tenant_statement(tenant.id, since=since, until=until)
        ]
        if "text/csv" in request.headers.get("accept", ""):
            return Response(content=_csv(lines), media_type="text/csv")
        return Response(content=s.Statement(data=lines))


def _csv(lines: list[s.StatementLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["currency", "bookings", "gross", "refunds", "fees", "fee_refunds", "disputes", "net"]
    )
    for line in lines:
        writer.writerow(
            [
                line.currency,
                line.bookings,
                line.gross.amount,
                line.refunds.amount,
                line.fees.amount,
                line.fee_refunds.amount,
                line.disputes.amount,
                line.net.amount,
            ]
        )
    return out.getvalue()
