"""A webhook arrives in `queue` mode: verify it, keep it, answer at once; a worker applies it.

Stripe asks for a quick 2xx and its own processing later: the answer no longer waits for
Stripe's facts (the checks that fetch a session, a charge or an account), so a storm of
redeliveries does not become a storm of Stripe requests at the pace the events arrive.
Exactly once is still decided where the effect is committed (the webhook inbox,
application/payment_events/bus.py); this only guarantees that nothing acknowledged is lost:
if the event cannot be kept, the error propagates (5xx) and Stripe delivers it again.
"""

from __future__ import annotations

from collections.abc import Callable

from application.payment_events import EventApplied, Outcome
from application.ports.gateway import PaymentGateway, WebhookEndpoint
from application.ports.gateway_events import IgnoredEvent
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import ReceivedEvent
from application.receive_webhook import answered_ignored
from application.uow import UnitOfWorkFactory


def _nobody() -> None:
    return None


class AcknowledgeWebhook:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        clock: Clock,
        on_queued: Callable[[], None] = _nobody,
    ) -> None:
        """`on_queued`: called after an event was kept, to wake this process's worker."""
        self._uow = uow
        self._gateway = gateway
        self._clock = clock
        self._on_queued = on_queued

    async def __call__(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> EventApplied:
        """`ignored` at once for a type Bookpay does not act on or an event of the other
        mode; `duplicate` for an event id the inbox holds (applied before); otherwise
        `queued`, once the raw body is durably kept (a redelivery of an event still queued
        too). InvalidWebhookSignature / InvalidWebhookPayload as `parse_webhook`: nothing
        kept. A database error propagates: nothing acknowledged, the gateway retries."""
        event = self._gateway.parse_webhook(payload, signature_header, endpoint)
        if isinstance(event, IgnoredEvent):
            return answered_ignored(event)
        async with self._uow() as uow:
            if await uow.webhook_inbox.seen(event.event_id):
                return EventApplied(Outcome.DUPLICATE, detail="applied before")
            kept = await uow.received_events.receive(
                ReceivedEvent(event.event_id, endpoint, payload, self._clock.now())
            )
            await uow.commit()
        self._on_queued()
        return EventApplied(Outcome.QUEUED, detail="" if kept else "queued before")
