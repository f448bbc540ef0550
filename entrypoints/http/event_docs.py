"""The events Bookpay sends, under `webhooks` in the OpenAPI document (OpenAPI 3.1): one
entry per event type, each a POST of its JSON body with the Standard Webhooks headers."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType

from domain.events import EventType
from entrypoints.http.events_out_schemas import BookingEvent, SlotEvent, TenantAccountEvent

_BODY_OF = {
    EventType.SLOT_CANCELLED: SlotEvent,
    EventType.TENANT_ACCOUNT_UPDATED: TenantAccountEvent,
}
_HEADERS = {
    "webhook-id": "The event's id (`evt_…`): the same on every retry; dedupe by it.",
    "webhook-timestamp": "Unix seconds of this attempt; refuse one far from your clock.",
    "webhook-signature": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per secret "
    "signing (space-separated while a rotated secret overlaps); verify with a Standard "
    "Webhooks library.",
}
_WHAT = {
    EventType.BOOKING_CONFIRMED: "A booking was paid and its seats are booked.",
    EventType.BOOKING_AWAITING_PAYMENT: "A delayed payment method was chosen; seats stay held.",
    EventType.BOOKING_EXPIRED: "A booking's hold ended unpaid (or was abandoned).",
    EventType.BOOKING_PAYMENT_FAILED: "A delayed payment failed; the seats went back.",
    EventType.BOOKING_CANCELLED: "A paid booking was cancelled; its seats went back.",
    EventType.BOOKING_REFUNDED: "Money went back to the customer (any refund).",
    EventType.BOOKING_DISPUTED: "The customer's bank opened a dispute of the charge.",
    EventType.BOOKING_DISPUTE_CLOSED: "A dispute closed (won, lost or a warning closed).",
    EventType.SLOT_CANCELLED: "The tenant cancelled a slot; its bookings are ended.",
    EventType.TENANT_ACCOUNT_UPDATED: "The tenant's connected account changed.",
}


def _component(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


def declare_event_webhooks(document: OpenAPI) -> None:
    _, definitions = msgspec.json.schema_components(
        [BookingEvent, SlotEvent, TenantAccountEvent],
        ref_template="#/components/schemas/{name}",
    )
    components = document.components
    if not isinstance(components, Components):
        components = document.components = Components()
    schemas: dict[str, Any] = dict(components.schemas or {})
    for name, definition in definitions.items():
        schemas.setdefault(name, definition)
    components.schemas = schemas
    document.webhooks = {
        event_type.value: PathItem(
            post=Operation(
                operation_id="event_" + event_type.value.replace(".", "_"),
                summary=_WHAT[event_type],
                description="Sent to every enabled endpoint that receives this type (a "
                "tenant's endpoints: only that tenant's events). At least once, in any order; "
                "a 2xx within 10 s is delivered, anything else is retried.",
                tags=["events out"],
                parameters=[
                    Parameter(
                        name=name,
                        param_in="header",
                        required=True,
                        description=text,
                        schema=Schema(type=OpenAPIType.STRING),
                    )
                    for name, text in _HEADERS.items()
                ],
                request_body=RequestBody(
                    required=True,
                    content={
                        "application/json": OpenAPIMediaType(
                            schema=_component(_BODY_OF.get(event_type, BookingEvent).__name__)
                        )
                    },
                ),
                responses={"2XX": OpenAPIResponse(description="Received")},
            )
        )
        for event_type in EventType
    }
