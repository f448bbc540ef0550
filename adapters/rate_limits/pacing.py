"""Pace a process's calls to the payment gateway: the webhook queue's worker stays under
Stripe's rate limit per endpoint, however many events wait (aiolimiter's leaky bucket).

Only the gateway's network calls wait their turn; reading a webhook body costs no call, and
neither does an event the inbox answers `duplicate`, since no call is made for it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from aiolimiter import AsyncLimiter

from application.ports.gateway import (
    CheckoutRequest,
    CheckoutSession,
    OnboardingLink,
    PaymentGateway,
    PaymentSnapshot,
    RefundRequest,
    RefundResult,
    TransferReversalRequest,
    TransferReversalResult,
    WebhookEndpoint,
)
from application.ports.gateway_events import PaymentEvent
from domain.money import Money
from domain.tenant import ConnectStatus


def calls_per_second(rate: float) -> AsyncLimiter:
    """`rate` calls a second, evenly spaced: a bucket of one call that drains every
    1/`rate` seconds, so no burst ever goes over the rate within a second."""
    if rate <= 0:
        raise ValueError("a pace needs a positive rate; leave an unpaced gateway unwrapped")
    return AsyncLimiter(1, 1 / rate)


class PacedGateway:
    """The gateway, each call made once `limiter` lets it through (any async context
    manager: `calls_per_second(rate)`, or a test's counter)."""

    def __init__(self, inner: PaymentGateway, limiter: AbstractAsyncContextManager[Any]) -> None:
        self._inner = inner
        self._limiter = limiter

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inner!r})"

    async def create_connected_account(
        self, *, tenant_id: str, country: str, email: str | None, idempotency_key: str
    ) -> ConnectStatus:
        async with self._limiter:
            return await self._inner.create_connected_account(
                tenant_id=tenant_id, country=country, email=email, idempotency_key=idempotency_key
            )

    async def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        async with self._limiter:
            return await self._inner.create_onboarding_link(
                account_id=account_id, refresh_url=refresh_url, return_url=return_url
            )

    async def retrieve_account(self, account_id: str) -> ConnectStatus:
        async with self._limiter:
            return await self._inner.retrieve_account(account_id)

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        async with self._limiter:
            return await self._inner.create_checkout_session(request)

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        async with self._limiter:
            return await self._inner.retrieve_checkout_session(session_id, account_id=account_id)

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        async with self._limiter:
            return await self._inner.expire_checkout_session(session_id, account_id=account_id)

    async def refund(self, request: RefundRequest) -> RefundResult:
        async with self._limiter:
            return await self._inner.refund(request)

    async def list_refunds(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> list[RefundResult]:
        async with self._limiter:
            return await self._inner.list_refunds(payment_intent_id, account_id=account_id)

    async def application_fee_refunded(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> Money | None:
        async with self._limiter:
            return await self._inner.application_fee_refunded(
                payment_intent_id, account_id=account_id
            )

    async def retrieve_payment(
        self, payment_id: str, *, account_id: str | None = None
    ) -> PaymentSnapshot:
        async with self._limiter:
            return await self._inner.retrieve_payment(payment_id, account_id=account_id)

    async def reverse_transfer(self, request: TransferReversalRequest) -> TransferReversalResult:
        async with self._limiter:
            return await self._inner.reverse_transfer(request)

    def parse_webhook(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> PaymentEvent:
        return self._inner.parse_webhook(payload, signature_header, endpoint)

    def read_event(self, payload: bytes, endpoint: WebhookEndpoint) -> PaymentEvent:
        return self._inner.read_event(payload, endpoint)
