"""Bodies of the webhook-endpoint routes, and of the events Bookpay sends (API.md,
"Events out"), as msgspec Structs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from domain.events import DeliveryStatus, EndpointStatus, EventType
from entrypoints.http import schemas as s

EndpointUrl = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2048,
        pattern="^https?://",
        description="https (http only for localhost); no private or loopback address",
    ),
]
EventTypes = Annotated[
    list[EventType], Meta(max_length=len(EventType), description="none or empty: every type")
]
Description = Annotated[str, Meta(max_length=500)]


class TenantWebhookEndpointCreate(Struct, forbid_unknown_fields=True):
    url: EndpointUrl
    events: EventTypes | None = None
    description: Description | None = None


class WebhookEndpointCreate(Struct, forbid_unknown_fields=True):
    url: EndpointUrl
    events: EventTypes | None = None
    # Only this tenant's events; without it, every tenant's.
    tenant_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    description: Description | None = None


class WebhookEndpointPatch(Struct, forbid_unknown_fields=True):
    url: EndpointUrl | None = None
    events: EventTypes | None = None
    status: EndpointStatus | None = None
    description: Description | None = None


class WebhookEndpoint(Struct):
    id: str
    url: str
    events: list[EventType]
    tenant_id: str | None
    status: EndpointStatus
    description: str
    created_at: datetime
    # Until when the secret before the last rotation still signs alongside the new one.
    previous_secret_until: datetime | None


class WebhookEndpointWithSecret(WebhookEndpoint):
    """The endpoint and its new signing secret, shown only in this answer."""

    secret: Annotated[str, Meta(description="`whsec_<base64>`; shown only in this answer")]


class WebhookEndpointPage(Struct):
    data: list[WebhookEndpoint]
    next_cursor: str | None


class WebhookDelivery(Struct):
    id: str
    endpoint_id: str
    event_id: str
    type: EventType
    status: DeliveryStatus
    attempts: int
    last_response_status: int | None
    next_attempt_at: datetime | None
    created_at: datetime


class WebhookDeliveryPage(Struct):
    data: list[WebhookDelivery]
    next_cursor: str | None


# --- What an endpoint receives ------------------------------------------------------


class TenantAccount(Struct):
    """The tenant's Connect state after the change."""

    tenant_id: str
    can_sell: bool
    connect: s.ConnectStatus


BookingEventType = Literal[
    "booking.confirmed",
    "booking.awaiting_payment",
    "booking.expired",
    "booking.payment_failed",
    "booking.cancelled",
    "booking.refunded",
    "booking.disputed",
    "booking.dispute_closed",
]


class BookingEvent(Struct):
    """Signed per Standard Webhooks: `webhook-id` (= `id`), `webhook-timestamp`,
    `webhook-signature`. Delivered at least once, in any order: dedupe by `id`."""

    id: str
    type: BookingEventType
    created_at: datetime
    tenant_id: str
    data: s.TenantBooking


class SlotEvent(Struct):
    id: str
    type: Literal["slot.cancelled"]
    created_at: datetime
    tenant_id: str
    data: s.Slot


class TenantAccountEvent(Struct):
    id: str
    type: Literal["tenant.account_updated"]
    created_at: datetime
    tenant_id: str
    data: TenantAccount
