"""A deterministic fake of Stripe Connect behind the payment gateway port.

It keeps Stripe-shaped objects (API version 2023-08-16) in a FakeStripeStore, serves hosted
test pages (pages.py), and sends every event the way Stripe does: JSON signed
with the endpoint's secret, POSTed through the injected `deliver`, retried with backoff
until it is acknowledged with a 2xx. The webhook code cannot tell it from Stripe.

Which events a test action sends (the checkout page's buttons map onto these):
- pay(method=card): checkout.session.completed (paid)
- pay(method=delayed): checkout.session.completed (unpaid); then pay() again:
  checkout.session.async_payment_succeeded, or decline(): …async_payment_failed
- decline() on an open session: completed (unpaid) then async_payment_failed
- cancel(): nothing, the session stays open; expire: checkout.session.expired
- complete_onboarding(): account.updated; refund(): charge.refunded (and
  application_fee.refunded when the fee is refunded)

The dashboard of API.md ("Fake gateway") acts as Stripe's own dashboard and Stripe itself:
- refund_payment(): a refund made in the dashboard: charge.refunded (+ application_fee.refunded)
- open_dispute(): charge.dispute.created, then charge.dispute.funds_withdrawn
- close_dispute(): charge.dispute.closed (+ charge.dispute.funds_reinstated when won)
- update_account(): account.updated

Stripe's guarantees hold across server processes: every change is read, decided and
committed whole with its events (FakeStripeStore.commit), and a commit based on a stale
read is refused and decided again. So a session is charged once however often and however
concurrently Pay is pressed, refunds never lose an update nor exceed the charge, a process
killed halfway leaves nothing half-done, and events are delivered from the store.

The gateway is the port's face of three parts: FakeConnect (connect.py), FakeCheckout
(checkout.py, sessions and the hosted page's buttons) and FakeStripeMoney (money.py,
refunds, disputes, transfer reversals).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.fake_stripe.checkout import CheckoutOutcome, FakeCheckout
from adapters.fake_stripe.connect import FakeConnect
from adapters.fake_stripe.latency import FakeLatency
from adapters.fake_stripe.money import FakeStripeMoney
from adapters.fake_stripe.payment_snapshot import payment_snapshot
from adapters.fake_stripe.state import Clock, FakeStripeState
from adapters.fake_stripe.store import FakeEvent, FakeStripeStore
from adapters.fake_stripe.timings import FakeStripeTimings
from adapters.fake_stripe.webhooks import (
    DEFAULT_RETRY_DELAYS,
    Deliver,
    FakeWebhookSender,
    Sleep,
)
from adapters.stripe_wire import signature as stripe_signature
from adapters.stripe_wire.events import (
    parse_event,
    verified_event,
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
from domain.money import Money
from domain.tenant import ConnectStatus


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FakeGateway:
    """PaymentGateway without Stripe: deterministic ids, injected clock, signed events."""

    def __init__(
        self,
        *,
        store: FakeStripeStore,
        public_base_url: str,
        webhook_secret: str,
        connect_webhook_secret: str,
        deliver: Deliver,
        clock: Clock = _utc_now,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        sleep: Sleep = asyncio.sleep,
        webhook_tolerance_seconds: int = stripe_signature.DEFAULT_TOLERANCE_SECONDS,
        latency: FakeLatency | None = None,
        timings: FakeStripeTimings | None = None,
    ) -> None:
        """`latency`: how long creating, retrieving and expiring a session and making a
        refund take (none by default); `timings`: where those calls' time is counted (the
        store's too, for the benchmark)."""
        self.timings = timings or FakeStripeTimings()
        latency = latency or FakeLatency()
        self._latency = dataclasses.replace(latency, sleep=self.timings.recording(latency.sleep))
        self._base_url = public_base_url.rstrip("/")
        self._secrets = {
            WebhookEndpoint.PLATFORM: webhook_secret,
            WebhookEndpoint.CONNECT: connect_webhook_secret,
        }
        self._clock = clock
        self._tolerance = webhook_tolerance_seconds
        self._webhooks = FakeWebhookSender(
            store=store,
            secrets=self._secrets,
            deliver=deliver,
            clock=clock,
            retry_delays=retry_delays,
            sleep=sleep,
        )
        self._state = FakeStripeState(store=store, webhooks=self._webhooks, clock=clock)
        self._money = FakeStripeMoney(self._state)
        self._connect = FakeConnect(self._state, base_url=self._base_url, clock=clock)
        self._checkout = FakeCheckout(
            self._state, base_url=self._base_url, clock=clock, latency=self._latency
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_base_url={self._base_url!r}, secrets=<hidden>)"

    # --- Connect (FakeConnect) -------------------------------------------------------------

    async def create_connected_account(
        self, *, tenant_id: str, country: str, email: str | None, idempotency_key: str
    ) -> ConnectStatus:
        return await self._connect.create_connected_account(
            tenant_id=tenant_id, country=country, email=email, idempotency_key=idempotency_key
        )

    async def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        return await self._connect.create_onboarding_link(
            account_id=account_id, refresh_url=refresh_url, return_url=return_url
        )

    async def retrieve_account(self, account_id: str) -> ConnectStatus:
        return await self._connect.retrieve_account(account_id)

    async def complete_onboarding(self, account_id: str) -> str:
        """The account is fully onboarded: account.updated; returns the return URL."""
        return await self._connect.complete_onboarding(account_id)

    async def update_account(
        self,
        account_id: str,
        *,
        charges_enabled: bool | None = None,
        payouts_enabled: bool | None = None,
        requirements_due: Sequence[str] | None = None,
        details_submitted: bool | None = None,
    ) -> ConnectStatus:
        """Stripe changes a connected account (what is not given stays): account.updated.
        NotFound for an unknown account."""
        return await self._connect.update_account(
            account_id,
            charges_enabled=charges_enabled,
            payouts_enabled=payouts_enabled,
            requirements_due=requirements_due,
            details_submitted=details_submitted,
        )

    async def onboarding_page(self, account_id: str) -> str:
        return await self._connect.onboarding_page(account_id)

    # --- Checkout (FakeCheckout) -----------------------------------------------------------

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        async with self.timings.call():
            return await self._checkout.create_checkout_session(request)

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        async with self.timings.call():
            return await self._checkout.retrieve_checkout_session(session_id, account_id=account_id)

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        async with self.timings.call():
            return await self._checkout.expire_checkout_session(session_id, account_id=account_id)

    async def pay(self, session_id: str, method: str = "card") -> CheckoutOutcome:
        """The Pay button: `card` pays at once, `delayed` starts a delayed payment; on a
        session awaiting its delayed payment, the payment succeeds. Charged once."""
        return await self._checkout.pay(session_id, method)

    async def start_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        return await self._checkout.start_delayed_payment(session_id)

    async def succeed_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        return await self._checkout.succeed_delayed_payment(session_id)

    async def fail_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        return await self._checkout.fail_delayed_payment(session_id)

    async def decline(self, session_id: str) -> CheckoutOutcome:
        """The Decline button: the async-payment failure path of API.md."""
        return await self._checkout.decline(session_id)

    async def cancel(self, session_id: str) -> CheckoutOutcome:
        """The customer goes back: the session stays open, no event is sent."""
        return await self._checkout.cancel(session_id)

    async def expire(self, session_id: str) -> CheckoutSession:
        """Let the session's time run out now, as Stripe does at `expires_at`."""
        return await self._checkout.expire(session_id)

    async def checkout_page(self, session_id: str) -> str:
        return await self._checkout.checkout_page(session_id)

    async def checkout_return_url(self, session_id: str) -> str | None:
        """The hosted checkout's way back to the shop (the session's success_url)."""
        return await self._checkout.return_url(session_id)

    # --- Refunds and disputes (FakeStripeMoney) ------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        async with self.timings.call():
            await self._latency.wait()
            return await self._money.refund(request)

    async def list_refunds(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> list[RefundResult]:
        return await self._money.list_refunds(payment_intent_id, account_id=account_id)

    async def retrieve_charge(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> dict[str, Any]:
        return await self._money.retrieve_charge(payment_intent_id, account_id=account_id)

    async def retrieve_application_fee(self, fee_id: str) -> dict[str, Any]:
        return await self._money.retrieve_application_fee(fee_id)

    async def application_fee_refunded(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> Money | None:
        charge = await self._money.retrieve_charge(payment_intent_id, account_id=account_id)
        fee_id = charge.get("application_fee")
        if not fee_id:
            return None
        fee = await self._money.retrieve_application_fee(str(fee_id))
        return Money(int(fee["amount_refunded"]), str(fee["currency"]))

    async def retrieve_payment(
        self, payment_id: str, *, account_id: str | None = None
    ) -> PaymentSnapshot:
        return await payment_snapshot(self._state, payment_id, account_id)

    async def refund_payment(
        self,
        payment_intent_id: str,
        *,
        amount: int | None = None,
        refund_application_fee: bool = False,
    ) -> RefundResult:
        return await self._money.refund_payment(
            payment_intent_id, amount=amount, refund_application_fee=refund_application_fee
        )

    async def reverse_transfer(self, request: TransferReversalRequest) -> TransferReversalResult:
        return await self._money.reverse_transfer(request)

    async def open_dispute(
        self,
        payment_intent_id: str,
        *,
        account_id: str | None = None,
        reason: str = "general",
        amount: int | None = None,
    ) -> str:
        return await self._money.open_dispute(
            payment_intent_id, account_id=account_id, reason=reason, amount=amount
        )

    async def close_dispute(self, dispute_id: str, *, won: bool) -> dict[str, Any]:
        return await self._money.close_dispute(dispute_id, won=won)

    # --- Webhooks ------------------------------------------------------------------------

    def parse_webhook(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> PaymentEvent:
        return verified_event(
            payload,
            signature_header,
            self._secrets[endpoint],
            now=self._clock(),
            tolerance_seconds=self._tolerance,
            livemode=False,  # the fake is Stripe in test mode
        )

    def read_event(self, payload: bytes, endpoint: WebhookEndpoint) -> PaymentEvent:
        return parse_event(payload, livemode=False)

    async def deliver_due(self) -> int:
        """Attempt every event whose next delivery is due (every server process runs this
        periodically); how many were acknowledged."""
        return await self._webhooks.deliver_due()

    async def wait_for_deliveries(self) -> None:
        """Deliver until no event awaits another attempt (for tests, shutdown)."""
        await self._webhooks.wait_for_deliveries()

    async def list_events(
        self, limit: int = 100, before_sequence: int | None = None
    ) -> list[FakeEvent]:
        """The events sent so far (before `before_sequence` when given), newest first, with
        their delivery state and `sequence`, the position a next page starts before."""
        return await self._state.store.list_events(limit, before_sequence)

    async def resend_event(self, event_id: str) -> FakeEvent:
        """Deliver the same event (same id, fresh signature) once more, as Stripe's resend."""
        return await self._webhooks.resend(event_id)
