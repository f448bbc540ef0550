"""A deterministic fake of Stripe Connect behind the payment gateway port.

It keeps Stripe-shaped objects (API version 2023-08-16) in a FakeStripeStore, serves hosted
test pages (see fake_stripe_pages), and sends every event the way Stripe does: JSON signed
with the endpoint's secret, POSTed through the injected `deliver`, retried with backoff
until it is acknowledged with a 2xx. The webhook code cannot tell it from Stripe.

Which events a test action sends (the checkout page's buttons map onto these):
- pay(method=card): checkout.session.completed (paid)
- pay(method=delayed): checkout.session.completed (unpaid); then pay() again:
  checkout.session.async_payment_succeeded, or decline(): …async_payment_failed
- decline() on an open session: completed (unpaid) then async_payment_failed
- cancel(): nothing, the session stays open; expire: checkout.session.expired
- complete_onboarding(): account.updated; refund(): charge.refunded;
  open_dispute(): charge.dispute.created
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters import stripe_signature
from adapters.fake_stripe_objects import template
from adapters.fake_stripe_pages import (
    CheckoutPage,
    checkout_path,
    onboarding_path,
    render_checkout_page,
    render_onboarding_page,
)
from adapters.fake_stripe_store import FakeEvent, FakeObject, FakeStripeStore
from adapters.fake_stripe_webhooks import (
    DEFAULT_RETRY_DELAYS,
    Deliver,
    FakeWebhookSender,
    Sleep,
)
from adapters.stripe_events import (
    REFUND_REASONS,
    REFUND_REFERENCE,
    checkout_session_from_stripe,
    connect_status_from_stripe,
    refund_result_from_stripe,
    verified_event,
)
from application.errors import GatewayInvalidRequest, NotFound
from application.ports import (
    CheckoutRequest,
    CheckoutSession,
    LineItem,
    OnboardingLink,
    PaymentEvent,
    PaymentStatus,
    RefundRequest,
    RefundResult,
    SessionStatus,
    TransferReversalRequest,
    TransferReversalResult,
    WebhookEndpoint,
)
from domain.money import Money
from domain.tenant import ChargeModel, ConnectStatus

ONBOARDING_REQUIREMENTS = (
    "business_profile.product_description",
    "business_profile.url",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)
# Stripe's own bounds for a Checkout Session's `expires_at`.
MIN_SESSION_LIFETIME = timedelta(minutes=30)
MAX_SESSION_LIFETIME = timedelta(hours=24)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CheckoutOutcome:
    """The session after a test action, and where the customer's browser goes next."""

    session: CheckoutSession
    redirect_url: str


def _no_such(kind: str, ident: str) -> GatewayInvalidRequest:
    return GatewayInvalidRequest(f"No such {kind}: '{ident}'")


def _public(body: dict[str, Any]) -> dict[str, Any]:
    """The object as Stripe shows it: without the fake's private bookkeeping."""
    return {key: value for key, value in body.items() if not key.startswith("_")}


def _refund_result(stored: FakeObject | None) -> RefundResult:
    if stored is None or stored.kind != "refund":
        message = stored.body.get("message") if stored else "the first request is in flight"
        raise GatewayInvalidRequest(str(message))
    return refund_result_from_stripe(_public(stored.body))


def _session_for_event(body: dict[str, Any]) -> dict[str, Any]:
    # Stripe leaves `line_items` out unless expanded, and events are never expanded.
    return {key: value for key, value in _public(body).items() if key != "line_items"}


def _charge_for_event(body: dict[str, Any]) -> dict[str, Any]:
    # Since API version 2022-11-15 a charge's `refunds` list is left out unless expanded,
    # and events are never expanded: the event tells only `amount_refunded`.
    return {key: value for key, value in _public(body).items() if key != "refunds"}


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
    ) -> None:
        self._store = store
        self._base_url = public_base_url.rstrip("/")
        self._secrets = {
            WebhookEndpoint.PLATFORM: webhook_secret,
            WebhookEndpoint.CONNECT: connect_webhook_secret,
        }
        self._clock = clock
        self._tolerance = webhook_tolerance_seconds
        self._can_charge: set[str] = set()  # accounts seen with charges_enabled
        self._webhooks = FakeWebhookSender(
            store=store,
            secrets=self._secrets,
            deliver=deliver,
            clock=clock,
            retry_delays=retry_delays,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_base_url={self._base_url!r}, secrets=<hidden>)"

    # --- helpers -------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock().timestamp())

    async def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{await self._store.next_number():08d}"

    async def _load(self, object_id: str, kind: str, account_id: str | None) -> FakeObject:
        """The object, seen from the platform or (Stripe-Account) a connected account."""
        obj = await self._store.get_object(object_id)
        if obj is None or obj.kind != kind or obj.account_id != account_id:
            raise _no_such(kind, object_id)
        return obj

    async def _create_once(self, key: str, obj: FakeObject) -> FakeObject:
        """Stripe's idempotency: the first object made with this key answers every retry."""
        return await self._store.create_once(key, obj)

    # --- Connect -------------------------------------------------------------------------

    async def create_connected_account(
        self, *, tenant_id: str, country: str, email: str | None, idempotency_key: str
    ) -> ConnectStatus:
        account_id = await self._new_id("acct")
        body = template(
            "account",
            id=account_id,
            type="express",
            country=country.upper(),
            email=email,
            created=self._now(),
            charges_enabled=False,
            payouts_enabled=False,
            details_submitted=False,
            capabilities={"card_payments": "inactive", "transfers": "inactive"},
            metadata={"tenant_id": tenant_id},
        )
        body["external_accounts"]["url"] = f"/v1/accounts/{account_id}/external_accounts"
        body["requirements"].update(
            currently_due=list(ONBOARDING_REQUIREMENTS),
            eventually_due=list(ONBOARDING_REQUIREMENTS),
            past_due=[],
            disabled_reason="requirements.past_due",
        )
        account = await self._create_once(
            f"account:{idempotency_key}", FakeObject(account_id, body)
        )
        return connect_status_from_stripe(account.body)

    async def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        await self._load(account_id, "account", None)
        expires_at = self._clock() + timedelta(minutes=5)
        url = onboarding_path(self._base_url, account_id)
        link = {
            "object": "account_link",
            "created": self._now(),
            "expires_at": int(expires_at.timestamp()),
            "url": url,
            "_refresh_url": refresh_url,
            "_return_url": return_url,
        }
        await self._store.put_object(FakeObject(f"link_{account_id}", link))
        return OnboardingLink(url=url, expires_at=expires_at.astimezone(UTC))

    async def retrieve_account(self, account_id: str) -> ConnectStatus:
        account = await self._load(account_id, "account", None)
        return connect_status_from_stripe(account.body)

    async def complete_onboarding(self, account_id: str) -> str:
        """The account is fully onboarded: account.updated; returns the return URL."""
        account = await self._load(account_id, "account", None)
        body = account.body
        body.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        body["capabilities"] = {"card_payments": "active", "transfers": "active"}
        body["requirements"].update(
            currently_due=[], eventually_due=[], past_due=[], disabled_reason=None
        )
        await self._store.put_object(account)
        await self._emit("account.updated", body, account_id)
        link = await self._store.get_object(f"link_{account_id}")
        return str(link.body["_return_url"]) if link else self._base_url + "/"

    async def onboarding_page(self, account_id: str) -> str:
        account = await self._load(account_id, "account", None)
        return render_onboarding_page(
            account_id=account_id,
            charges_enabled=bool(account.body["charges_enabled"]),
            base_url=self._base_url,
            email=account.body.get("email"),
        )

    # --- Checkout ------------------------------------------------------------------------

    def _check_request(self, request: CheckoutRequest) -> str:
        if not request.line_items:
            raise GatewayInvalidRequest("line_items must not be empty")
        currencies = {line.unit_amount.currency for line in request.line_items}
        if len(currencies) != 1:
            raise GatewayInvalidRequest("all line items must be in one currency")
        lifetime = request.expires_at - self._clock()
        if not MIN_SESSION_LIFETIME <= lifetime <= MAX_SESSION_LIFETIME:
            raise GatewayInvalidRequest(
                "expires_at must be between 30 minutes and 24 hours from now"
            )
        return currencies.pop()

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        currency = self._check_request(request)
        if request.account_id not in self._can_charge:
            account = await self._load(request.account_id, "account", None)
            if not account.body["charges_enabled"]:
                raise GatewayInvalidRequest(
                    f"The connected account {request.account_id} cannot take charges yet: "
                    "its onboarding is not complete."
                )
            # The fake never takes charges_enabled back, so once seen it is remembered:
            # every later checkout of the account skips a read of the store.
            self._can_charge.add(request.account_id)
        direct = request.charge_model is ChargeModel.DIRECT
        session_id = await self._new_id("cs_test")
        total = sum(line.unit_amount.amount * line.quantity for line in request.line_items)
        body = template(
            "checkout.session",
            id=session_id,
            amount_subtotal=total,
            amount_total=total,
            cancel_url=request.cancel_url,
            client_reference_id=request.booking_id,
            created=self._now(),
            currency=currency,
            customer_email=request.customer_email,
            expires_at=int(request.expires_at.timestamp()),
            metadata={
                "tenant_id": request.tenant_id,
                "booking_id": request.booking_id,
                "fee_policy_version": str(request.fee_policy_version),
            },
            mode="payment",
            payment_intent=None,
            payment_status="unpaid",
            status="open",
            success_url=request.success_url,
            url=checkout_path(self._base_url, session_id),
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        )
        body |= {
            "line_items": {
                "object": "list",
                "has_more": False,
                "url": f"/v1/checkout/sessions/{session_id}/line_items",
                "data": [
                    {
                        "object": "item",
                        "description": line.name,
                        "quantity": line.quantity,
                        "currency": line.unit_amount.currency,
                        "amount_subtotal": line.unit_amount.amount * line.quantity,
                        "amount_total": line.unit_amount.amount * line.quantity,
                        "price": {
                            "object": "price",
                            "currency": line.unit_amount.currency,
                            "unit_amount": line.unit_amount.amount,
                        },
                    }
                    for line in request.line_items
                ],
            },
            "_application_fee_amount": request.application_fee.amount,
            "_destination": None if direct else request.account_id,
            "_on_behalf_of": request.account_id if request.on_behalf_of and not direct else None,
        }
        lives_on = request.account_id if direct else None
        session = await self._create_once(
            f"session:{request.idempotency_key}", FakeObject(session_id, body, lives_on)
        )
        return checkout_session_from_stripe(_public(session.body), session.account_id)

    async def _find_session(self, session_id: str) -> FakeObject:
        """A session by id alone, as the hosted pages (which know no account) look it up."""
        obj = await self._store.get_object(session_id)
        if obj is None or obj.kind != "checkout.session":
            raise NotFound("checkout session", session_id)
        return obj

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        session = await self._load(session_id, "checkout.session", account_id)
        return checkout_session_from_stripe(_public(session.body), account_id)

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        session = await self._load(session_id, "checkout.session", account_id)
        if session.body["status"] == "expired":
            return checkout_session_from_stripe(_public(session.body), account_id)
        if session.body["status"] != "open":
            raise GatewayInvalidRequest(
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{session.body["status"]}".'
            )
        await self._expire(session)
        return checkout_session_from_stripe(_public(session.body), account_id)

    async def _expire(self, session: FakeObject) -> None:
        session.body.update(status="expired", url=None)
        await self._store.put_object(session)
        await self._emit(
            "checkout.session.expired", _session_for_event(session.body), session.account_id
        )

    async def _open_session(self, session_id: str) -> FakeObject:
        session = await self._find_session(session_id)
        if session.body["status"] == "open" and session.body["expires_at"] <= self._now():
            await self._expire(session)
        if session.body["status"] != "open":
            raise GatewayInvalidRequest(f"checkout session {session_id} is not open")
        return session

    async def _create_payment(self, session: FakeObject, *, succeeded: bool) -> None:
        """The session's payment intent, and its charge once the money has arrived."""
        body = session.body
        intent_id = body["payment_intent"] or await self._new_id("pi")
        intent = await self._store.get_object(intent_id)
        intent_body: dict[str, Any] = (
            intent.body
            if intent
            else template(
                "payment_intent",
                id=intent_id,
                amount=body["amount_total"],
                amount_received=0,
                application_fee_amount=body["_application_fee_amount"] or None,
                created=self._now(),
                currency=body["currency"],
                latest_charge=None,
                metadata=dict(body["metadata"]),
                on_behalf_of=body["_on_behalf_of"],
                status="processing",
                transfer_data=(
                    {"destination": body["_destination"]} if body["_destination"] else None
                ),
            )
        )
        if succeeded:
            charge_id = await self._new_id("ch")
            charge = template(
                "charge",
                id=charge_id,
                amount=body["amount_total"],
                amount_captured=body["amount_total"],
                amount_refunded=0,
                application_fee_amount=intent_body["application_fee_amount"],
                captured=True,
                created=self._now(),
                currency=body["currency"],
                metadata=dict(body["metadata"]),
                on_behalf_of=intent_body["on_behalf_of"],
                paid=True,
                payment_intent=intent_id,
                refunded=False,
                status="succeeded",
                transfer_data=intent_body["transfer_data"],
            )
            charge["refunds"]["url"] = f"/v1/charges/{charge_id}/refunds"
            await self._store.put_object(FakeObject(charge_id, charge, session.account_id))
            intent_body.update(
                status="succeeded", latest_charge=charge_id, amount_received=body["amount_total"]
            )
        await self._store.put_object(FakeObject(intent_id, intent_body, session.account_id))
        body["payment_intent"] = intent_id

    async def _complete(self, session: FakeObject, *, paid: bool) -> None:
        await self._create_payment(session, succeeded=paid)
        if not paid:
            session.body["_delayed_payment"] = "pending"
        session.body.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            url=None,
            customer_details={
                "address": None,
                "email": session.body["customer_email"],
                "name": None,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )
        await self._store.put_object(session)
        await self._emit(
            "checkout.session.completed", _session_for_event(session.body), session.account_id
        )

    def _outcome(self, session: FakeObject, redirect_url: str) -> CheckoutOutcome:
        return CheckoutOutcome(
            checkout_session_from_stripe(_public(session.body), session.account_id),
            redirect_url,
        )

    def _awaiting_delayed_payment(self, session: FakeObject) -> bool:
        return bool(session.body.get("_delayed_payment") == "pending")

    async def pay(self, session_id: str, method: str = "card") -> CheckoutOutcome:
        """The Pay button: `card` pays at once, `delayed` starts a delayed payment; on a
        session awaiting its delayed payment, the payment succeeds."""
        session = await self._find_session(session_id)
        if self._awaiting_delayed_payment(session):
            return await self.succeed_delayed_payment(session_id)
        if method == "delayed":
            return await self.start_delayed_payment(session_id)
        if method != "card":
            raise GatewayInvalidRequest(f"unknown test payment method {method!r}")
        session = await self._open_session(session_id)
        await self._complete(session, paid=True)
        return self._outcome(session, session.body["success_url"])

    async def start_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        session = await self._open_session(session_id)
        await self._complete(session, paid=False)
        return self._outcome(session, session.body["success_url"])

    async def succeed_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        session = await self._find_session(session_id)
        if not self._awaiting_delayed_payment(session):
            raise GatewayInvalidRequest(f"checkout session {session_id} awaits no payment")
        await self._create_payment(session, succeeded=True)
        session.body.update(payment_status="paid", _delayed_payment="succeeded")
        await self._store.put_object(session)
        await self._emit(
            "checkout.session.async_payment_succeeded",
            _session_for_event(session.body),
            session.account_id,
        )
        return self._outcome(session, checkout_path(self._base_url, session_id))

    async def fail_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        session = await self._find_session(session_id)
        if not self._awaiting_delayed_payment(session):
            raise GatewayInvalidRequest(f"checkout session {session_id} awaits no payment")
        intent = await self._store.get_object(session.body["payment_intent"])
        if intent is not None:
            intent.body["status"] = "requires_payment_method"
            await self._store.put_object(intent)
        session.body["_delayed_payment"] = "failed"
        await self._store.put_object(session)
        await self._emit(
            "checkout.session.async_payment_failed",
            _session_for_event(session.body),
            session.account_id,
        )
        return self._outcome(session, checkout_path(self._base_url, session_id))

    async def decline(self, session_id: str) -> CheckoutOutcome:
        """The Decline button: the async-payment failure path of API.md."""
        session = await self._find_session(session_id)
        if not self._awaiting_delayed_payment(session):
            await self.start_delayed_payment(session_id)
        return await self.fail_delayed_payment(session_id)

    async def cancel(self, session_id: str) -> CheckoutOutcome:
        """The customer goes back: the session stays open, no event is sent."""
        session = await self._find_session(session_id)
        return self._outcome(session, session.body["cancel_url"])

    async def expire(self, session_id: str) -> CheckoutSession:
        """Let the session's time run out now, as Stripe does at `expires_at`."""
        session = await self._find_session(session_id)
        return await self.expire_checkout_session(session_id, account_id=session.account_id)

    async def checkout_page(self, session_id: str) -> str:
        session = await self._find_session(session_id)
        body = session.body
        currency = body["currency"]
        lines = tuple(
            LineItem(
                name=item["description"],
                unit_amount=Money(item["price"]["unit_amount"], currency),
                quantity=item["quantity"],
            )
            for item in body["line_items"]["data"]
        )
        page = CheckoutPage(
            session_id=session_id,
            status=SessionStatus(body["status"]),
            payment_status=PaymentStatus(body["payment_status"]),
            line_items=lines,
            amount_total=Money(body["amount_total"], currency),
            customer_email=body["customer_email"],
            payment_failed=body.get("_delayed_payment") == "failed",
        )
        return render_checkout_page(page, base_url=self._base_url)

    # --- Refunds and disputes ------------------------------------------------------------

    async def _paid_charge(self, payment_intent_id: str, account_id: str | None) -> FakeObject:
        intent = await self._load(payment_intent_id, "payment_intent", account_id)
        charge_id = intent.body.get("latest_charge")
        if intent.body["status"] != "succeeded" or not charge_id:
            raise GatewayInvalidRequest(f"payment intent {payment_intent_id} has no charge")
        return await self._load(charge_id, "charge", account_id)

    async def refund(self, request: RefundRequest) -> RefundResult:
        account = request.account_id if request.charge_model is ChargeModel.DIRECT else None
        charge = await self._paid_charge(request.payment_intent_id, account)
        body = charge.body
        if request.amount.currency != body["currency"]:
            raise GatewayInvalidRequest("the refund currency differs from the charge's")
        if request.amount.amount <= 0:
            raise GatewayInvalidRequest("the refund amount must be positive")
        refund_id = await self._new_id("re")
        # Like Stripe, a retry with the same key replays the first answer, error included.
        winner = await self._store.bind_idempotency_key(
            f"refund:{request.idempotency_key}", refund_id
        )
        if winner != refund_id:
            return _refund_result(await self._store.get_object(winner))
        remaining = body["amount"] - body["amount_refunded"]
        if request.amount.amount > remaining:
            message = (
                f"Refund amount ({request.amount.amount}) is greater than the unrefunded "
                f"amount on the charge ({remaining})"
            )
            await self._store.put_object(
                FakeObject(refund_id, {"object": "error", "message": message}, account)
            )
            raise GatewayInvalidRequest(message)
        refund = template(
            "refund",
            id=refund_id,
            amount=request.amount.amount,
            charge=charge.id,
            created=self._now(),
            currency=body["currency"],
            metadata={
                "booking_id": request.booking_id,
                REFUND_REFERENCE: request.idempotency_key,
            },
            payment_intent=request.payment_intent_id,
            reason=request.reason if request.reason in REFUND_REASONS else None,
            status="succeeded",
            _refund_application_fee=request.refund_application_fee,
            _reverse_transfer=request.reverse_transfer and account is None,
        )
        await self._store.put_object(FakeObject(refund_id, refund, account))
        body["amount_refunded"] += request.amount.amount
        body["refunded"] = body["amount_refunded"] == body["amount"]
        body["refunds"]["data"].insert(0, _public(refund))
        await self._store.put_object(charge)
        await self._emit("charge.refunded", _charge_for_event(body), account)
        return refund_result_from_stripe(_public(refund))

    async def list_refunds(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> list[RefundResult]:
        intent = await self._load(payment_intent_id, "payment_intent", account_id)
        charge_id = intent.body.get("latest_charge")
        if not charge_id:
            return []
        charge = await self._load(charge_id, "charge", account_id)
        return [refund_result_from_stripe(refund) for refund in charge.body["refunds"]["data"]]

    async def reverse_transfer(self, request: TransferReversalRequest) -> TransferReversalResult:
        """Take money back from a destination charge's transfer (the charge's amount less
        its application fee), never more than is left of it; once per idempotency key."""
        charge = await self._paid_charge(request.payment_intent_id, None)
        body = charge.body
        if not body.get("transfer_data"):
            raise GatewayInvalidRequest(f"charge {charge.id} made no transfer to reverse")
        if request.amount.currency != body["currency"] or request.amount.amount <= 0:
            raise GatewayInvalidRequest("a reversal is a positive amount in the charge's currency")
        reversal_id = await self._new_id("trr")
        winner = await self._store.bind_idempotency_key(
            f"transfer_reversal:{request.idempotency_key}", reversal_id
        )
        if winner != reversal_id:
            kept = (await self._store.get_object(winner)).body
            return TransferReversalResult(kept["id"], Money(kept["amount"], kept["currency"]))
        # What refunds already took back from the transfer (reverse_transfer) counts too.
        transferred = body["amount"] - (body.get("application_fee_amount") or 0)
        left = transferred - body.get("_transfer_reversed", 0)
        if request.amount.amount > left:
            raise GatewayInvalidRequest(
                f"the reversal ({request.amount.amount}) exceeds what is left of the transfer "
                f"({left})"
            )
        reversal = {
            "id": reversal_id,
            "object": "transfer_reversal",
            "amount": request.amount.amount,
            "currency": body["currency"],
            "created": self._now(),
            "metadata": {"booking_id": request.booking_id},
            "transfer": f"tr_{charge.id}",
        }
        await self._store.put_object(FakeObject(reversal_id, reversal, None))
        body["_transfer_reversed"] = body.get("_transfer_reversed", 0) + request.amount.amount
        await self._store.put_object(charge)
        return TransferReversalResult(reversal_id, request.amount)

    async def open_dispute(
        self, payment_intent_id: str, *, account_id: str | None = None, reason: str = "general"
    ) -> str:
        """The customer disputes the charge: charge.dispute.created; returns the dispute id."""
        charge = await self._paid_charge(payment_intent_id, account_id)
        dispute_id = await self._new_id("dp")
        dispute = template(
            "dispute",
            id=dispute_id,
            amount=charge.body["amount"] - charge.body["amount_refunded"],
            charge=charge.id,
            created=self._now(),
            currency=charge.body["currency"],
            is_charge_refundable=False,
            payment_intent=payment_intent_id,
            payment_method_details={
                "card": {"brand": "visa", "network_reason_code": "10.4"},
                "type": "card",
            },
            reason=reason,
            status="needs_response",
        )
        dispute["evidence_details"]["due_by"] = self._now() + 7 * 24 * 3600
        await self._store.put_object(FakeObject(dispute_id, dispute, account_id))
        charge.body["disputed"] = True
        await self._store.put_object(charge)
        await self._emit("charge.dispute.created", dispute, account_id)
        return dispute_id

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

    async def _emit(self, event_type: str, obj: dict[str, Any], account_id: str | None) -> None:
        await self._webhooks.send(event_type, obj, account_id)

    async def wait_for_deliveries(self) -> None:
        """Wait until every pending retry has succeeded or given up (for tests, shutdown)."""
        await self._webhooks.wait_for_deliveries()

    async def list_events(self, limit: int = 100) -> list[FakeEvent]:
        """The events sent so far, newest first, with their delivery state."""
        return await self._store.list_events(limit)

    async def resend_event(self, event_id: str) -> FakeEvent:
        """Deliver the same event (same id, fresh signature) once more, as Stripe's resend."""
        return await self._webhooks.resend(event_id)
