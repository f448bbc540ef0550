"""The payment gateway port: what the use cases ask of Stripe (or its fake), in neutral terms.

Errors: see `PaymentGateway`'s docstring for which mean "refused, nothing moved" and which
mean "outcome unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from application.ports.gateway_events import DisputeFunds, PaymentEvent
from domain.dispute import DisputeStatus
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


class PaymentIntentStatus(StrEnum):
    """Where a checkout's payment stands, in Stripe's terms (a PaymentIntent's `status`).

    A delayed payment on its way is `processing` (a bank debit) or `requires_action` (a
    voucher still to be paid at the store); one that failed is back to
    `requires_payment_method`, or `canceled`. The session alone cannot tell them apart:
    both leave it complete and unpaid.
    """

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"

    @property
    def failed(self) -> bool:
        """Whether the payment of a completed checkout failed (it can no longer succeed
        without another payment method, which a completed checkout never takes)."""
        return self in (PaymentIntentStatus.REQUIRES_PAYMENT_METHOD, PaymentIntentStatus.CANCELED)


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
    # The payment intent's status when it was read with the session (retrieved sessions);
    # None when the session has no payment intent yet, or it was not read.
    payment_intent_status: PaymentIntentStatus | None = None


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
    # The idempotency key Bookpay sent it with (its reservation id); None for a refund
    # made elsewhere, e.g. in Stripe's dashboard.
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class TransferReversalRequest:
    """Take `amount` back from the transfer a destination charge made to the tenant.

    `idempotency_key` is Bookpay's reference of the reversal (derived from what it is
    for, e.g. a lost dispute), so a retry after an unknown outcome never reverses twice.
    """

    booking_id: str
    payment_intent_id: str
    amount: Money
    idempotency_key: str
    description: str


@dataclass(frozen=True, slots=True)
class TransferReversalResult:
    reversal_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class DisputeFacts:
    """One dispute of a charge as the gateway shows it now, with the balance transactions
    that moved its funds (withdrawn, reinstated) and Stripe's fee on them."""

    dispute_id: str
    amount: Money
    reason: str
    status: DisputeStatus
    is_charge_refundable: bool
    opened_at: datetime
    balance_transactions: tuple[DisputeFunds, ...] = ()


@dataclass(frozen=True, slots=True)
class PaymentSnapshot:
    """A payment's charge as the gateway shows it now: what it charged, every refund made
    of it (Bookpay's, with their reference, and any made elsewhere), the platform's
    application fee and what that fee gave back, and the charge's disputes.

    Amounts in minor units of the charge's currency. `application_fee` and
    `application_fee_refunded` are None when the charge took no application fee.
    """

    payment_intent_id: str
    charge_id: str
    amount: Money
    amount_refunded: Money
    refunds: tuple[RefundResult, ...]
    application_fee: Money | None
    application_fee_refunded: Money | None
    disputes: tuple[DisputeFacts, ...] = ()


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
    ) -> CheckoutSession:
        """The session as the gateway shows it now, with its payment intent's status."""
        ...

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        """Close an open session so it can no longer be paid; returns its final state."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund `request.amount` of a payment under `request.idempotency_key`.

        The same key and parameters again answer with the refund made the first time (or
        make it once). Refused, nothing made under this key: CardDeclined,
        GatewayInvalidRequest, GatewayAuthenticationFailed. Outcome unknown (the refund
        may have been made; send the same request again to learn): GatewayUnavailable
        (GatewayOutcomeUnknown among them), GatewayRateLimited, any other GatewayError.
        """
        ...

    async def list_refunds(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> list[RefundResult]:
        """The refunds of a payment, newest first, each with the reference Bookpay gave it."""
        ...

    async def application_fee_refunded(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> Money | None:
        """What the platform's application fee on the payment's charge has given back in
        all (the fee's `amount_refunded`, minor units of the charge's currency); None when
        the charge took no application fee. `account_id` is the connected account a direct
        charge lives on.

        GatewayInvalidRequest when the payment has no charge; GatewayUnavailable or
        GatewayRateLimited when the gateway could not be asked (nothing changed: retry).
        """
        ...

    async def retrieve_payment(
        self, payment_id: str, *, account_id: str | None = None
    ) -> PaymentSnapshot:
        """The payment's charge with its refunds, application fee and disputes, as the
        gateway shows them now. `payment_id` names the payment (its payment intent) or its
        charge; `account_id` is the connected account a direct charge lives on.

        GatewayInvalidRequest when the gateway knows no charge for it; GatewayUnavailable or
        GatewayRateLimited when it could not be asked (nothing changed: retry).
        """
        ...

    async def reverse_transfer(self, request: TransferReversalRequest) -> TransferReversalResult:
        """Reverse part of the transfer of a destination charge, once per idempotency key.

        Refused, nothing moved: GatewayInvalidRequest (e.g. no transfer, or less left than
        asked), GatewayAuthenticationFailed, GatewayRateLimited. Outcome unknown:
        GatewayUnavailable (re-send with the same key: the gateway answers with the
        reversal it made, or makes it once).
        """
        ...

    def parse_webhook(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> PaymentEvent:
        """Verify the signature over the raw body and translate the event.

        Raises InvalidWebhookSignature when the signature is missing, wrong or stale;
        InvalidWebhookPayload when the signed body is not an event.
        """
        ...

    def read_event(self, payload: bytes, endpoint: WebhookEndpoint) -> PaymentEvent:
        """Translate a body `parse_webhook` verified before (kept since, e.g. in the
        webhook queue), the same way, without the signature: its tolerance would refuse
        it now. Never for a body that was not verified. InvalidWebhookPayload when it is
        not an event."""
        ...
