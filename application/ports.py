"""Ports: what the use cases need from the outside world, and nothing Stripe- or SQL-typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from domain.money import Money
from domain.tenant import ChargeModel, ConnectStatus

# --- Payment gateway -----------------------------------------------------------------


class WebhookEndpoint(StrEnum):
    """Which webhook endpoint an event arrived at; each has its own signing secret."""

    PLATFORM = "platform"
    CONNECT = "connect"


class SessionStatus(StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class PaymentStatus(StrEnum):
    PAID = "paid"
    UNPAID = "unpaid"
    NO_PAYMENT_REQUIRED = "no_payment_required"


@dataclass(frozen=True, slots=True)
class OnboardingLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line on the hosted checkout page: `quantity` × `unit_amount`."""

    name: str
    unit_amount: Money
    quantity: int


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """Everything the gateway needs to open a hosted checkout for one booking attempt."""

    tenant_id: str
    booking_id: str
    account_id: str
    charge_model: ChargeModel
    line_items: tuple[LineItem, ...]
    application_fee: Money
    expires_at: datetime
    customer_email: str
    success_url: str
    cancel_url: str
    fee_policy_version: int
    idempotency_key: str
    on_behalf_of: bool = False


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    session_id: str
    url: str | None
    status: SessionStatus
    payment_status: PaymentStatus
    booking_id: str | None
    amount_total: Money | None
    expires_at: datetime | None
    payment_intent_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """A refund of `amount` of a booking's payment, and who gives back what.

    `refund_application_fee` gives back the platform's fee in proportion to the amount;
    `reverse_transfer` (destination charges) pulls the money back from the tenant's
    transfer in proportion too, so the platform's own balance never pays by accident.
    """

    booking_id: str
    payment_intent_id: str
    amount: Money
    charge_model: ChargeModel
    refund_application_fee: bool
    reverse_transfer: bool
    idempotency_key: str
    account_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: str
    amount: Money
    status: str


# Gateway-neutral payment events, parsed from verified webhooks.


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    event_id: str
    created_at: datetime
    account_id: str | None


@dataclass(frozen=True, slots=True)
class CheckoutCompleted(PaymentEvent):
    session_id: str
    booking_id: str | None
    paid: bool
    payment_intent_id: str | None
    amount_total: Money | None


@dataclass(frozen=True, slots=True)
class AsyncPaymentSucceeded(PaymentEvent):
    session_id: str
    booking_id: str | None
    payment_intent_id: str | None


@dataclass(frozen=True, slots=True)
class AsyncPaymentFailed(PaymentEvent):
    session_id: str
    booking_id: str | None


@dataclass(frozen=True, slots=True)
class CheckoutExpired(PaymentEvent):
    session_id: str
    booking_id: str | None


@dataclass(frozen=True, slots=True)
class RefundRecord:
    refund_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ChargeRefunded(PaymentEvent):
    charge_id: str
    payment_intent_id: str | None
    amount_refunded: Money
    refunds: tuple[RefundRecord, ...]


@dataclass(frozen=True, slots=True)
class DisputeCreated(PaymentEvent):
    dispute_id: str
    charge_id: str
    payment_intent_id: str | None
    amount: Money
    reason: str


@dataclass(frozen=True, slots=True)
class AccountUpdated(PaymentEvent):
    status: ConnectStatus


@dataclass(frozen=True, slots=True)
class IgnoredEvent(PaymentEvent):
    """A verified event of a type Bookpay does not act on; acknowledged with 2xx."""

    type: str


class PaymentGateway(Protocol):
    """Stripe Connect as the use cases see it. Every write carries an idempotency key."""

    async def create_connected_account(
        self, *, tenant_id: str, country: str, email: str | None, idempotency_key: str
    ) -> ConnectStatus:
        """Create an Express connected account for a tenant."""
        ...

    async def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        """A single-use hosted onboarding link for the account."""
        ...

    async def retrieve_account(self, account_id: str) -> ConnectStatus: ...

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a hosted checkout for a booking; a retry with the same key returns the same."""
        ...

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession: ...

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        """Close an open session so it can no longer be paid; returns its final state."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult: ...

    def parse_webhook(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> PaymentEvent:
        """Verify the signature over the raw body and translate the event.

        Raises InvalidWebhookSignature when the signature is missing, wrong or stale.
        """
        ...
