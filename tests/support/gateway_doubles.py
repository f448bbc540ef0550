"""Small hand-written doubles for gateway tests: a settable clock, a webhook inbox, a link
to the gateway that can go down, a gateway that hides a dispute's funds."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from application.errors import GatewayInvalidRequest, GatewayUnavailable
from application.ports.gateway import (
    CheckoutSession,
    PaymentGateway,
    PaymentSnapshot,
    RefundRequest,
    RefundResult,
    WebhookEndpoint,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass
class FixedClock:
    """A clock that only moves when told to."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class Delivery:
    endpoint: WebhookEndpoint
    body: bytes
    headers: dict[str, str]


@dataclass
class WebhookInbox:
    """The app's webhook endpoints as the fake sees them: answers queued statuses (or raises
    queued exceptions), then 200; keeps every delivery it received."""

    answers: deque[int | Exception] = field(default_factory=deque)
    deliveries: list[Delivery] = field(default_factory=list)

    def answer_next(self, *answers: int | Exception) -> None:
        self.answers.extend(answers)

    async def __call__(
        self, endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]
    ) -> int:
        self.deliveries.append(Delivery(endpoint, body, dict(headers)))
        answer = self.answers.popleft() if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer

    def event_ids(self) -> list[str]:
        return [json.loads(delivery.body)["id"] for delivery in self.deliveries]

    def event_types(self) -> list[str]:
        return [json.loads(delivery.body)["type"] for delivery in self.deliveries]


class RecordedSleeps:
    """An `asyncio.sleep` stand-in that returns at once and remembers the delays."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class GatewayLink:
    """A gateway behind a network link that can go down, for its refunds.

    While `down`, refunds and their listing get no answer (GatewayUnavailable). With
    `lands`, a refund still reaches the gateway and only its answer is lost (a timeout, or
    the process killed before it read the answer). `refused` makes the gateway refuse
    refunds outright. Everything else goes straight through.
    """

    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway
        self.down = False
        self.lands = False
        self.refused = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    async def refund(self, request: RefundRequest) -> RefundResult:
        if self.down:
            if self.lands:
                await self._gateway.refund(request)
            raise GatewayUnavailable("connection refused")
        if self.refused:
            raise GatewayInvalidRequest("the charge cannot be refunded")
        return await self._gateway.refund(request)

    async def list_refunds(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> list[RefundResult]:
        if self.down:
            raise GatewayUnavailable("connection refused")
        return await self._gateway.list_refunds(payment_intent_id, account_id=account_id)


class PaymentsUnreadable:
    """The gateway, but while `down` a payment (with its refunds, disputes and fee) cannot
    be read: an outage of `retrieve_payment` alone. Everything else goes straight through."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway
        self.down = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    async def retrieve_payment(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> PaymentSnapshot:
        if self.down:
            raise GatewayUnavailable("connection refused")
        return await self._gateway.retrieve_payment(payment_intent_id, account_id=account_id)


class SessionsUnreadable:
    """The gateway, but while `down` a checkout session cannot be read: an outage of
    `retrieve_checkout_session` alone. Everything else goes straight through."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway
        self.down = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        if self.down:
            raise GatewayUnavailable("connection refused")
        return await self._gateway.retrieve_checkout_session(session_id, account_id=account_id)


class DisputeFundsUnlisted:
    """The gateway, but the disputes of a payment list no balance transactions (as Stripe
    shows a dispute whose funds never moved). Everything else goes straight through."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    async def retrieve_payment(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> PaymentSnapshot:
        payment = await self._gateway.retrieve_payment(payment_intent_id, account_id=account_id)
        disputes = tuple(replace(d, balance_transactions=()) for d in payment.disputes)
        return replace(payment, disputes=disputes)
