"""The fake Stripe's Checkout: sessions, and what the hosted page's buttons do to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.fake_stripe.latency import FakeLatency
from adapters.fake_stripe.objects import template
from adapters.fake_stripe.pages import (
    CheckoutPage,
    checkout_path,
    render_checkout_page,
)
from adapters.fake_stripe.payments import new_application_fee, new_charge, public
from adapters.fake_stripe.state import Clock, FakeStripeState, until_not_stale, visible
from adapters.fake_stripe.store import FakeObject, Requirement
from adapters.stripe_wire.events import (
    checkout_session_from_stripe,
)
from application.errors import GatewayInvalidRequest
from application.ports.gateway import (
    CheckoutRequest,
    CheckoutSession,
    LineItem,
    PaymentStatus,
    SessionStatus,
)
from domain.hold import session_lifetime_allowed
from domain.money import Money
from domain.tenant import charge_account


@dataclass(frozen=True, slots=True)
class CheckoutOutcome:
    """The session after a test action, and where the customer's browser goes next."""

    session: CheckoutSession
    redirect_url: str


def _takes_charges(account_id: str) -> Requirement:
    """The platform sees the connected account, and it can take charges now."""

    def check(stored: FakeObject | None) -> None:
        account = visible(stored, account_id, "account", None)
        if not account.body["charges_enabled"]:
            raise GatewayInvalidRequest(
                f"The connected account {account_id} cannot take charges now: "
                "its onboarding is not complete or Stripe disabled it."
            )

    return Requirement(account_id, check)


def _session_for_event(body: dict[str, Any]) -> dict[str, Any]:
    # Stripe leaves `line_items` out unless expanded, and events are never expanded.
    return {key: value for key, value in public(body).items() if key != "line_items"}


class FakeCheckout:
    def __init__(
        self, state: FakeStripeState, *, base_url: str, clock: Clock, latency: FakeLatency
    ) -> None:
        self._state = state
        self._base_url = base_url
        self._clock = clock
        self._latency = latency

    def _check_request(self, request: CheckoutRequest) -> str:
        if not request.line_items:
            raise GatewayInvalidRequest("line_items must not be empty")
        currencies = {line.unit_amount.currency for line in request.line_items}
        if len(currencies) != 1:
            raise GatewayInvalidRequest("all line items must be in one currency")
        if not session_lifetime_allowed(request.expires_at - self._clock()):
            raise GatewayInvalidRequest(
                "expires_at must be between 30 minutes and 24 hours from now"
            )
        return currencies.pop()

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        await self._latency.wait()
        currency = self._check_request(request)
        lives_on = charge_account(request.charge_model, request.account_id)
        session_id = await self._state.new_id("cs_test")
        total = sum(line.unit_amount.amount * line.quantity for line in request.line_items)
        body = template(
            "checkout.session",
            id=session_id,
            amount_subtotal=total,
            amount_total=total,
            cancel_url=request.cancel_url,
            client_reference_id=request.booking_id,
            created=self._state.now(),
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
            # A destination charge transfers to the account it does not live on.
            "_destination": request.account_id if lives_on is None else None,
        }
        # The account is read every time (the dashboard can take charges_enabled back:
        # update_account), in the transaction that stores the session: one connection.
        session = await self._state.create_once(
            f"session:{request.idempotency_key}",
            FakeObject(session_id, body, lives_on),
            _takes_charges(request.account_id),
        )
        return checkout_session_from_stripe(public(session.body), session.account_id)

    async def _find_session(self, session_id: str) -> FakeObject:
        """A session by id alone, as the hosted pages (which know no account) look it up."""
        return await self._state.find(session_id, "checkout.session")

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        await self._latency.wait()
        # Expanded, as StripeGateway asks for it: the intent's status tells a delayed
        # payment on its way (`processing`) from a failed one (`requires_payment_method`).
        stored, intent = await self._state.store.get_expanded(session_id, "payment_intent")
        session = visible(stored, session_id, "checkout.session", account_id)
        body = public(session.body)
        if intent is not None:
            body["payment_intent"] = public(intent.body)
        return checkout_session_from_stripe(body, account_id)

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        await self._latency.wait()

        async def decide() -> CheckoutSession:
            session = await self._state.load(session_id, "checkout.session", account_id)
            status = session.body["status"]
            if status == "open":
                await self._expire(session)
            elif status != "expired":
                raise GatewayInvalidRequest(
                    'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f'This Checkout Session has a status of "{status}".'
                )
            return checkout_session_from_stripe(public(session.body), account_id)

        return await until_not_stale(decide)

    async def _expire(self, session: FakeObject) -> None:
        session.body.update(status="expired", url=None)
        event = ("checkout.session.expired", _session_for_event(session.body), session.account_id)
        await self._state.commit([session], [event])

    async def _ensure_open(self, session: FakeObject) -> None:
        """GatewayInvalidRequest unless the session (as read) is open; one whose time ran
        out is expired first, as Stripe does at `expires_at`."""
        if session.body["status"] == "open" and session.body["expires_at"] <= self._state.now():
            await self._expire(session)
        if session.body["status"] != "open":
            raise GatewayInvalidRequest(f"checkout session {session.id} is not open")

    async def _payment(self, session: FakeObject, *, succeeded: bool) -> tuple[FakeObject, ...]:
        """The session's payment intent and, once the money has arrived, its charge and
        application fee; sets the session's `payment_intent`. Nothing is stored here."""
        body = session.body
        stored = await self._state.store.get_object(body["payment_intent"] or "")
        intent = stored or FakeObject(
            await self._state.new_id("pi"),
            template(
                "payment_intent",
                amount=body["amount_total"],
                amount_received=0,
                application_fee_amount=body["_application_fee_amount"] or None,
                created=self._state.now(),
                currency=body["currency"],
                latest_charge=None,
                metadata=dict(body["metadata"]),
                status="processing",
                transfer_data=(
                    {"destination": body["_destination"]} if body["_destination"] else None
                ),
            ),
            session.account_id,
        )
        intent.body["id"] = intent.id
        body["payment_intent"] = intent.id
        if not succeeded:
            return (intent,)
        fee_id = await self._state.new_id("fee") if intent.body["application_fee_amount"] else None
        charge_id = await self._state.new_id("ch")
        charge = new_charge(charge_id, intent.body, created=self._state.now(), fee_id=fee_id)
        intent.body.update(
            status="succeeded", latest_charge=charge_id, amount_received=body["amount_total"]
        )
        made = [intent, FakeObject(charge_id, charge, session.account_id)]
        if fee_id is not None:
            payer = session.account_id or body["_destination"]
            fee = new_application_fee(fee_id, charge, account_id=payer, created=self._state.now())
            made.append(FakeObject(fee_id, fee))  # the platform's, whatever the charge model
        return tuple(made)

    def _outcome(self, session: FakeObject, redirect_url: str) -> CheckoutOutcome:
        return CheckoutOutcome(
            checkout_session_from_stripe(public(session.body), session.account_id),
            redirect_url,
        )

    def _awaiting_delayed_payment(self, session: FakeObject) -> bool:
        return bool(session.body.get("_delayed_payment") == "pending")

    async def pay(self, session_id: str, method: str = "card") -> CheckoutOutcome:
        """The Pay button: `card` pays at once, `delayed` starts a delayed payment; on a
        session awaiting its delayed payment, the payment succeeds.

        A session is paid once: pressing Pay again (concurrently too, or after a crash)
        on a paid session charges nothing and sends the customer to `success_url`.
        """
        if method not in ("card", "delayed"):
            raise GatewayInvalidRequest(f"unknown test payment method {method!r}")

        async def decide() -> CheckoutOutcome:
            session = await self._find_session(session_id)
            if session.body["payment_status"] == "paid":
                return self._outcome(session, session.body["success_url"])
            if self._awaiting_delayed_payment(session):
                return await self._settle_delayed_payment(session, succeeded=True)
            await self._ensure_open(session)
            await self._complete(session, paid=method == "card")
            return self._outcome(session, session.body["success_url"])

        return await until_not_stale(decide)

    async def _complete(self, session: FakeObject, *, paid: bool) -> None:
        payment = await self._payment(session, succeeded=paid)
        body = session.body
        if not paid:
            body["_delayed_payment"] = "pending"
        body.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            url=None,
            customer_details={
                "address": None,
                "email": body["customer_email"],
                "name": None,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )
        event = ("checkout.session.completed", _session_for_event(body), session.account_id)
        await self._state.commit([session, *payment], [event])

    async def _settle_delayed_payment(
        self, session: FakeObject, *, succeeded: bool
    ) -> CheckoutOutcome:
        """The delayed payment the session awaits succeeds (charged) or fails."""
        body = session.body
        if succeeded:
            changed = await self._payment(session, succeeded=True)
            body.update(payment_status="paid", _delayed_payment="succeeded")
            kind = "checkout.session.async_payment_succeeded"
        else:
            intent = await self._state.store.get_object(body["payment_intent"])
            changed = ()
            if intent is not None:
                intent.body["status"] = "requires_payment_method"
                changed = (intent,)
            body["_delayed_payment"] = "failed"
            kind = "checkout.session.async_payment_failed"
        await self._state.commit(
            [session, *changed], [(kind, _session_for_event(body), session.account_id)]
        )
        return self._outcome(session, checkout_path(self._base_url, session.id))

    async def start_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        return await self.pay(session_id, method="delayed")

    async def _delayed_payment_outcome(
        self, session_id: str, *, succeeded: bool
    ) -> CheckoutOutcome:
        async def decide() -> CheckoutOutcome:
            session = await self._find_session(session_id)
            if not self._awaiting_delayed_payment(session):
                raise GatewayInvalidRequest(f"checkout session {session_id} awaits no payment")
            return await self._settle_delayed_payment(session, succeeded=succeeded)

        return await until_not_stale(decide)

    async def succeed_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        return await self._delayed_payment_outcome(session_id, succeeded=True)

    async def fail_delayed_payment(self, session_id: str) -> CheckoutOutcome:
        return await self._delayed_payment_outcome(session_id, succeeded=False)

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

    async def return_url(self, session_id: str) -> str | None:
        """Where the session sends the customer back (its success_url): the booking."""
        session = await self._find_session(session_id)
        url = session.body.get("success_url")
        return str(url) if url else None

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
            return_url=body.get("success_url"),
        )
        return render_checkout_page(page, base_url=self._base_url)
