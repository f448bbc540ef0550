"""/v1/webhooks: Stripe's events, verified over the raw body and applied exactly once (in
the request, or from the queue a worker drains: BOOKPAY_WEBHOOK_MODE)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.exceptions import ClientException

from application.payment_events import Outcome
from application.ports.gateway import WebhookEndpoint
from application.receive_webhook import WebhookReceiver
from entrypoints.http.openapi import STRIPE_EVENT_BODY, STRIPE_SIGNATURE, documented, problems
from entrypoints.http.strict_json import json_text_has_nul

_SIGNED = documented(raw_body=STRIPE_EVENT_BODY, headers=[STRIPE_SIGNATURE])
_BAD_SIGNATURE = problems(
    400, 503, why_400="A bad or stale signature, or a body that is not an event"
)


class WebhookReceived(msgspec.Struct):
    """`outcome`: `applied` (it changed something), `duplicate` (this event id was applied
    before), `ignored` (nothing to change, a type Bookpay does not act on, an event of the
    other mode (live/test), a payment event its booking and Stripe's own session contradict,
    or an account snapshot older than the one kept), `parked` (a refund or dispute of a
    payment no booking has yet: applied when its checkout's completion arrives), or
    `queued` (BOOKPAY_WEBHOOK_MODE=queue: verified and kept, applied shortly by a worker)."""

    received: bool
    outcome: Outcome


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]  # noqa: RUF012 - Litestar reads these as class attributes

    @post(
        "/stripe",
        operation_id="receiveStripeEvent",
        operation_class=_SIGNED,
        responses=_BAD_SIGNATURE,
        status_code=200,
        summary="Platform events (STRIPE_WEBHOOK_SECRET)",
        description=(
            "400 on a bad signature or one more than 300 s away from our clock either way; "
            "200 for duplicates and ignored events; 503 when Stripe could not be asked to "
            "confirm a payment event that contradicts its booking (Stripe redelivers). "
            "With BOOKPAY_WEBHOOK_MODE=queue, 200 `queued` once the verified event is kept "
            "(a worker applies it); 503 when it could not be kept (Stripe redelivers)."
        ),
    )
    async def platform(
        self, request: Request[Any, Any, Any], receive_webhook: WebhookReceiver
    ) -> WebhookReceived:
        return await _receive(request, receive_webhook, WebhookEndpoint.PLATFORM)

    @post(
        "/stripe/connect",
        operation_id="receiveStripeConnectEvent",
        operation_class=_SIGNED,
        responses=_BAD_SIGNATURE,
        status_code=200,
        summary="Connected-account events (STRIPE_CONNECT_WEBHOOK_SECRET)",
    )
    async def connect(
        self, request: Request[Any, Any, Any], receive_webhook: WebhookReceiver
    ) -> WebhookReceived:
        return await _receive(request, receive_webhook, WebhookEndpoint.CONNECT)


async def _receive(
    request: Request[Any, Any, Any], receive_webhook: WebhookReceiver, endpoint: WebhookEndpoint
) -> WebhookReceived:
    payload = await request.body()
    if json_text_has_nul(payload):
        # Stripe never sends one, and PostgreSQL cannot store it: refused before anything
        # reads the event (an unsigned body is refused the same way, so nothing leaks).
        raise ClientException(detail="the event must not contain NUL characters")
    signature = request.headers.get("stripe-signature", "")
    applied = await receive_webhook(payload, signature, endpoint)
    return WebhookReceived(received=True, outcome=applied.outcome)
