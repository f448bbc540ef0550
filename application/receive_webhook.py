"""A webhook arrives: verify it came from the gateway, then apply it exactly once."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from application.payment_events import ApplyPaymentEvent, EventApplied, Outcome
from application.ports.gateway import PaymentGateway, WebhookEndpoint
from application.ports.gateway_events import IgnoredEvent


# Checkable: the HTTP layer's dependency injection checks what it is given against it.
@runtime_checkable
class WebhookReceiver(Protocol):
    """What the webhook endpoints call: ReceiveWebhook (applied in the request, the default)
    or AcknowledgeWebhook (kept and applied by a worker, BOOKPAY_WEBHOOK_MODE=queue)."""

    async def __call__(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> EventApplied: ...


class ReceiveWebhook:
    def __init__(self, gateway: PaymentGateway, apply_event: ApplyPaymentEvent) -> None:
        self._gateway = gateway
        self._apply = apply_event

    async def __call__(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> EventApplied:
        """InvalidWebhookSignature when the signature does not verify or its timestamp is
        more than the tolerance away from our clock; nothing is applied. GatewayUnavailable
        when the event's facts needed the gateway and it could not be asked (retry)."""
        event = self._gateway.parse_webhook(payload, signature_header, endpoint)
        if isinstance(event, IgnoredEvent):
            return answered_ignored(event)
        return await self._apply(event)


def answered_ignored(event: IgnoredEvent) -> EventApplied:
    """How an event Bookpay does not act on (its type, or the other mode) is answered, in
    either webhook mode: `ignored`, with the type and why."""
    why = event.reason or "it is not acted on"
    return EventApplied(Outcome.IGNORED, detail=f"{event.type}: {why}")
