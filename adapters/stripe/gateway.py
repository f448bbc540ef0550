"""The payment gateway port on Stripe Connect, through the official SDK's async client.

What Bookpay asks of Stripe and how it reads the answers; how a request goes out (API
version, retries, errors) is client.py's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import stripe

from adapters.stripe.client import DEFAULT_RETRY_DELAYS, STRIPE_API_VERSION, Sleep, StripeCalls
from adapters.stripe.requests import (
    account_link_params,
    account_params,
    checkout_session_params,
    list_page,
    refund_params,
)
from adapters.stripe_wire import signature as stripe_signature
from adapters.stripe_wire.events import (
    REVERSAL_REFERENCE,
    MalformedStripeObject,
    checkout_session_from_stripe,
    connect_status_from_stripe,
    parse_event,
    payment_snapshot_from_stripe,
    refund_result_from_stripe,
    verified_event,
)
from application.errors import (
    GatewayInvalidRequest,
    GatewayUnavailable,
)
from application.ports.gateway import (
    CheckoutRequest,
    CheckoutSession,
    OnboardingLink,
    PaymentSnapshot,
    RefundRequest,
    RefundResult,
    TransferReversalRequest,
    TransferReversalResult,
    WebhookEndpoint,
)
from application.ports.gateway_events import PaymentEvent
from domain.errors import DomainError
from domain.money import Money
from domain.tenant import ConnectStatus, charge_account

__all__ = ["STRIPE_API_VERSION", "StripeGateway"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_key() -> str:
    return uuid.uuid4().hex


class StripeGateway(StripeCalls):
    """PaymentGateway on Stripe Connect (Express accounts, hosted Checkout)."""

    def __init__(
        self,
        api_key: str,
        *,
        webhook_secret: str,
        connect_webhook_secret: str,
        api_base: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = _utc_now,
        new_key: Callable[[], str] = _new_key,
        webhook_tolerance_seconds: int = stripe_signature.DEFAULT_TOLERANCE_SECONDS,
        timeout_seconds: float = 30.0,
    ) -> None:
        super().__init__(
            api_key,
            api_base=api_base,
            http_client=http_client,
            retry_delays=retry_delays,
            sleep=sleep,
            timeout_seconds=timeout_seconds,
        )
        self._webhook_secrets = {
            WebhookEndpoint.PLATFORM: webhook_secret,
            WebhookEndpoint.CONNECT: connect_webhook_secret,
        }
        self._clock = clock
        self._new_key = new_key
        self._tolerance = webhook_tolerance_seconds
        # Live keys (secret or restricted) act on live-mode events only, test keys on test ones.
        self._livemode = api_key.startswith(("sk_live_", "rk_live_"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key=<hidden>, webhook secrets=<hidden>)"

    def _session(self, obj: stripe.StripeObject, account_id: str | None) -> CheckoutSession:
        try:
            return checkout_session_from_stripe(self._plain(obj), account_id)
        except MalformedStripeObject as error:
            raise GatewayUnavailable(f"unexpected checkout session from Stripe: {error}") from error

    def _account(self, obj: stripe.StripeObject) -> ConnectStatus:
        try:
            return connect_status_from_stripe(self._plain(obj))
        except MalformedStripeObject as error:
            raise GatewayUnavailable(f"unexpected account from Stripe: {error}") from error

    # --- Connect ---------------------------------------------------------------------------

    async def create_connected_account(
        self, *, tenant_id: str, country: str, email: str | None, idempotency_key: str
    ) -> ConnectStatus:
        params = account_params(tenant_id=tenant_id, country=country, email=email)
        options = self._options(idempotency_key=idempotency_key)
        account = await self._call(
            "create account",
            lambda: self._client.v1.accounts.create_async(params, options),  # type: ignore[arg-type]
        )
        return self._account(account)

    async def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        params = account_link_params(
            account_id=account_id, refresh_url=refresh_url, return_url=return_url
        )
        # Account links are single-use, so a new call must get a new link: the key is new
        # per call and stays the same across that call's retries.
        options = self._options(idempotency_key=f"bookpay-link-{account_id}-{self._new_key()}")
        link = await self._call(
            "create account link",
            lambda: self._client.v1.account_links.create_async(params, options),  # type: ignore[arg-type]
        )
        plain = self._plain(link)
        return OnboardingLink(
            url=str(plain["url"]), expires_at=datetime.fromtimestamp(plain["expires_at"], UTC)
        )

    async def retrieve_account(self, account_id: str) -> ConnectStatus:
        account = await self._call(
            "retrieve account", lambda: self._client.v1.accounts.retrieve_async(account_id)
        )
        return self._account(account)

    # --- Checkout --------------------------------------------------------------------------

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        params = checkout_session_params(request)
        account = charge_account(request.charge_model, request.account_id)
        options = self._options(idempotency_key=request.idempotency_key, stripe_account=account)
        session = await self._call(
            "create checkout session",
            lambda: self._client.v1.checkout.sessions.create_async(params, options),  # type: ignore[arg-type]
        )
        return self._session(session, account)

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        options = self._options(stripe_account=account_id)
        # The intent in the same request (Stripe's advice): only its status tells a delayed
        # payment still on its way from one that failed; the session is complete and
        # unpaid in both.
        params = {"expand": ["payment_intent"]}
        session = await self._call(
            "retrieve checkout session",
            lambda: self._client.v1.checkout.sessions.retrieve_async(
                session_id,
                params,  # type: ignore[arg-type]
                options,
            ),
        )
        return self._session(session, account_id)

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        options = self._options(
            idempotency_key=f"bookpay-expire-{session_id}", stripe_account=account_id
        )
        session = await self._call(
            "expire checkout session",
            lambda: self._client.v1.checkout.sessions.expire_async(session_id, None, options),
        )
        return self._session(session, account_id)

    # --- Refunds ---------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        params = refund_params(request)
        options = self._options(
            idempotency_key=request.idempotency_key,
            stripe_account=charge_account(request.charge_model, request.account_id),
        )
        refund = await self._call(
            "create refund",
            lambda: self._client.v1.refunds.create_async(params, options),  # type: ignore[arg-type]
        )
        try:
            return refund_result_from_stripe(self._plain(refund))
        except MalformedStripeObject as error:
            raise GatewayUnavailable(f"unexpected refund from Stripe: {error}") from error

    async def list_refunds(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> list[RefundResult]:
        params = {"payment_intent": payment_intent_id, "limit": 100}
        options = self._options(stripe_account=account_id)
        page = await self._call(
            "list refunds",
            lambda: self._client.v1.refunds.list_async(params, options),  # type: ignore[arg-type]
        )
        try:
            return [refund_result_from_stripe(self._plain(r)) for r in page.data]
        except MalformedStripeObject as error:
            raise GatewayUnavailable(f"unexpected refund from Stripe: {error}") from error

    async def application_fee_refunded(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> Money | None:
        charge = await self._charge_of(payment_intent_id, self._options(stripe_account=account_id))
        fee = await self._application_fee(charge)
        if fee is None:
            return None
        try:
            return Money(int(fee["amount_refunded"]), str(fee["currency"]))
        except (KeyError, TypeError, ValueError, DomainError) as error:
            raise GatewayUnavailable(f"unexpected application fee from Stripe: {error}") from error

    async def retrieve_payment(
        self, payment_id: str, *, account_id: str | None = None
    ) -> PaymentSnapshot:
        # The charge, its refunds and disputes live where the charge does (Stripe-Account
        # for a direct charge); the application fee is always the platform's.
        options = self._options(stripe_account=account_id)
        charge = await self._charge_of(payment_id, options)
        charge_id = str(charge.get("id"))
        refunds = await self._every(
            "list refunds",
            lambda after: self._client.v1.refunds.list_async(
                list_page({"charge": charge_id}, after),  # type: ignore[arg-type]
                options,
            ),
        )
        disputes = await self._every(
            "list disputes",
            lambda after: self._client.v1.disputes.list_async(
                list_page({"charge": charge_id}, after),  # type: ignore[arg-type]
                options,
            ),
        )
        fee = await self._application_fee(charge)
        disputes.sort(key=lambda dispute: (dispute.get("created") or 0, str(dispute.get("id"))))
        try:
            return payment_snapshot_from_stripe(charge, refunds, fee, disputes)
        except MalformedStripeObject as error:
            raise GatewayUnavailable(f"unexpected payment from Stripe: {error}") from error

    async def _charge_of(self, payment_id: str, options: stripe.RequestOptions) -> dict[str, Any]:
        """The charge of a payment intent (its latest), or the charge named itself."""
        if not payment_id.startswith("pi_"):
            return self._plain(
                await self._call(
                    "retrieve charge",
                    lambda: self._client.v1.charges.retrieve_async(payment_id, None, options),
                )
            )
        intent = await self._call(
            "retrieve payment intent",
            lambda: self._client.v1.payment_intents.retrieve_async(
                payment_id,
                {"expand": ["latest_charge"]},
                options,
            ),
        )
        charge = self._plain(intent).get("latest_charge")
        if not isinstance(charge, dict):
            raise GatewayInvalidRequest(f"payment {payment_id} has no charge")
        return charge

    async def _application_fee(self, charge: dict[str, Any]) -> dict[str, Any] | None:
        """The application fee a charge names, if any: always the platform's, so read
        without Stripe-Account, wherever the charge lives."""
        fee_id = charge.get("application_fee")
        if isinstance(fee_id, dict):
            fee_id = fee_id.get("id")
        if fee_id is None:
            return None
        return self._plain(
            await self._call(
                "retrieve application fee",
                lambda: self._client.v1.application_fees.retrieve_async(str(fee_id)),
            )
        )

    async def reverse_transfer(self, request: TransferReversalRequest) -> TransferReversalResult:
        # The transfer a destination charge made is on its charge (`transfer`).
        intent = await self._call(
            "retrieve payment intent",
            lambda: self._client.v1.payment_intents.retrieve_async(
                request.payment_intent_id,
                {"expand": ["latest_charge"]},
            ),
        )
        charge = self._plain(intent).get("latest_charge") or {}
        transfer = charge.get("transfer") if isinstance(charge, dict) else None
        if isinstance(transfer, dict):
            transfer = transfer.get("id")
        if not isinstance(transfer, str):
            raise GatewayInvalidRequest(
                f"payment {request.payment_intent_id} made no transfer to reverse"
            )
        params = {
            "amount": request.amount.amount,
            "description": request.description,
            "metadata": {
                "booking_id": request.booking_id,
                REVERSAL_REFERENCE: request.idempotency_key,
            },
        }
        options = self._options(idempotency_key=request.idempotency_key)
        reversal = self._plain(
            await self._call(
                "reverse transfer",
                lambda: self._client.v1.transfers.reversals.create_async(
                    transfer,
                    params,  # type: ignore[arg-type]
                    options,
                ),
            )
        )
        try:
            return TransferReversalResult(
                reversal_id=str(reversal["id"]),
                amount=Money(int(reversal["amount"]), str(reversal["currency"])),
            )
        except (KeyError, TypeError, ValueError, DomainError) as error:
            raise GatewayUnavailable(
                f"unexpected transfer reversal from Stripe: {error}"
            ) from error

    # --- Webhooks --------------------------------------------------------------------------

    def parse_webhook(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> PaymentEvent:
        return verified_event(
            payload,
            signature_header,
            self._webhook_secrets[endpoint],
            now=self._clock(),
            tolerance_seconds=self._tolerance,
            livemode=self._livemode,
        )

    def read_event(self, payload: bytes, endpoint: WebhookEndpoint) -> PaymentEvent:
        return parse_event(payload, livemode=self._livemode)
