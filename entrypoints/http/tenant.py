"""/v1/tenant: a tenant (by its API key) manages its profile, onboarding, offerings and slots.

Its bookings and money are in tenant_money.py, under the same path and the same key.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide

from application.add_slots import AddSlots, NewSlots, SlotSpec
from application.archive_offering import ArchiveOffering
from application.cancel_slot import CancelSlot, SlotCancellation
from application.create_offering import CreateOffering, NewOffering
from application.errors import InvalidRequest
from application.offering_queries import OfferingQueries
from application.resize_slot import ResizeSlot, SlotResize
from application.start_onboarding import StartOnboarding, StartOnboardingCommand
from application.tenant_queries import TenantQueries
from application.update_offering import OfferingChanges, UpdateOffering
from domain.tenant import Tenant
from entrypoints.http import mapping as m
from entrypoints.http import schemas as s
from entrypoints.http.auth import authenticated_tenant
from entrypoints.http.openapi import documented, location, problems
from entrypoints.http.params import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    after_text,
    page,
)


class TenantController(Controller):
    path = "/v1/tenant"
    tags = ["tenant"]  # noqa: RUF012 - Litestar reads these as class attributes
    dependencies = {"tenant": Provide(authenticated_tenant)}  # noqa: RUF012
    security = [{"bearer": []}]  # noqa: RUF012

    @get(
        "/",
        operation_id="getTenantProfile",
        summary="Own profile, Connect status and active fee policy",
        responses=problems(401),
    )
    async def profile(self, tenant: Tenant, tenant_queries: TenantQueries) -> s.Tenant:
        view = await tenant_queries.get(tenant.id)
        return m.tenant_out(view.tenant, view.fee_policy)

    @post(
        "/connect/onboarding-link",
        operation_id="createOnboardingLink",
        status_code=200,
        summary="Stripe onboarding link",
        responses=problems(401, 422, 502, 503),
        operation_class=documented(optional_body=True),
    )
    async def onboarding_link(
        self,
        request: Request[Any, Any, Any],
        tenant: Tenant,
        start_onboarding: StartOnboarding,
        data: s.OnboardingLinkCreate | None = None,
    ) -> s.OnboardingLink:
        link = await start_onboarding(
            StartOnboardingCommand(
                tenant_id=tenant.id,
                refresh_url=data.refresh_url if data else None,
                return_url=data.return_url if data else None,
            )
        )
        return s.OnboardingLink(url=link.url, expires_at=link.expires_at)

    @get(
        "/connect/status",
        operation_id="getConnectStatus",
        summary="Connect account status",
        responses=problems(401),
    )
    async def connect_status(self, tenant: Tenant) -> s.ConnectStatus:
        return m.connect_out(tenant.connect)

    # --- offerings -----------------------------------------------------------------

    @post(
        "/offerings",
        operation_id="createOffering",
        status_code=201,
        summary="Create an offering",
        response_description="The offering created",
        response_headers=location("the offering"),
        responses=problems(401, 403, 422),
    )
    async def create_offering(
        self, tenant: Tenant, data: s.OfferingCreate, create_offering: CreateOffering
    ) -> Response[s.Offering]:
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
        return Response(
            m.offering_out(offering),
            status_code=201,
            headers={"Location": f"/v1/tenant/offerings/{offering.id}"},
        )

    @get(
        "/offerings",
        operation_id="listOfferings",
        summary="List offerings, archived ones included",
        description="By name; paginated with `limit` and `cursor`.",
        responses=problems(401),
    )
    async def list_offerings(
        self,
        tenant: Tenant,
        offering_queries: OfferingQueries,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> s.OfferingPage:
        found = await offering_queries.list(
            tenant.id, include_archived=True, after=after_text(cursor), limit=limit + 1
        )
        shown, next_cursor = page(found, limit, lambda o: (o.name, o.id))
        return s.OfferingPage(data=[m.offering_out(o) for o in shown], next_cursor=next_cursor)

    @get(
        "/offerings/{offering_id:str}",
        operation_id="getOffering",
        summary="One offering",
        responses=problems(401, 404),
    )
    async def get_offering(
        self, tenant: Tenant, offering_id: str, offering_queries: OfferingQueries
    ) -> s.Offering:
        return m.offering_out(await offering_queries.get(tenant.id, offering_id))

    @patch(
        "/offerings/{offering_id:str}",
        operation_id="updateOffering",
        summary="Change an offering",
        responses=problems(401, 403, 404, 409, 422),
    )
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

    @delete(
        "/offerings/{offering_id:str}",
        operation_id="archiveOffering",
        status_code=200,
        summary="Archive an offering",
        responses=problems(401, 404),
    )
    async def archive_offering(
        self, tenant: Tenant, offering_id: str, archive_offering: ArchiveOffering
    ) -> s.Offering:
        return m.offering_out(await archive_offering(tenant.id, offering_id))

    @post(
        "/offerings/{offering_id:str}/slots",
        operation_id="addSlots",
        status_code=201,
        summary="Add slots",
        response_description="The slots created, by start time (all of them: no next page)",
        responses=problems(
            401, 404, 409, 422, why_409="The offering already has a slot at one of these starts"
        ),
    )
    async def add_slots(
        self, tenant: Tenant, offering_id: str, data: s.SlotsCreate, add_slots: AddSlots
    ) -> s.SlotPage:
        if (data.starts_at is None) == (data.slots is None):
            raise InvalidRequest("give either 'starts_at' or 'slots', not both or neither")
        specs = (
            [SlotSpec(data.starts_at, data.capacity)]
            if data.starts_at is not None
            else [SlotSpec(spec.starts_at, spec.capacity) for spec in data.slots or ()]
        )
        slots = await add_slots(NewSlots(tenant.id, offering_id, tuple(specs)))
        return s.SlotPage(data=[m.slot_out(slot) for slot in slots], next_cursor=None)

    @patch("/slots/{slot_id:str}", summary="Change a slot's capacity")
    async def resize_slot(
        self, tenant: Tenant, slot_id: str, data: s.SlotPatch, resize_slot: ResizeSlot
    ) -> s.Slot:
        return m.slot_out(await resize_slot(SlotResize(tenant.id, slot_id, data.capacity)))

    @post(
        "/slots/{slot_id:str}/cancel",
        status_code=200,
        summary="Cancel a slot: no more sales, every booking on it ended and refunded",
        operation_class=documented(optional_body=True),
    )
    async def cancel_slot(
        self,
        tenant: Tenant,
        slot_id: str,
        cancel_slot: CancelSlot,
        data: s.SlotCancel | None = None,
    ) -> s.SlotCancellationResult:
        cancelled = await cancel_slot(
            SlotCancellation(tenant.id, slot_id, data.reason if data else None)
        )
        return s.SlotCancellationResult(
            **msgspec.structs.asdict(m.slot_out(cancelled.slot)),
            bookings_ended=list(cancelled.ended),
            bookings_unfinished=list(cancelled.unfinished),
        )
