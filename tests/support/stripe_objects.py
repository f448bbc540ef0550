"""Stripe's objects as the stand-in keeps them: accounts, checkout sessions, payment
intents, charges, application fees and disputes (see stripe_stand_in.py for the API).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tests.support.stripe_openapi import StripeOpenAPIValidator, parse_form, stripe_openapi
from tests.support.stripe_reference import stripe_fixture

Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def encoded_params(self) -> str:
        return self.body if self.method == "POST" else urlsplit(self.url).query

    @property
    def params(self) -> dict[str, Any]:
        return parse_form(self.encoded_params)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")

    @property
    def stripe_account(self) -> str | None:
        return self.headers.get("Stripe-Account")


def _error(status: int, message: str, *, code: str, param: str | None = None) -> Answer:
    error: dict[str, Any] = {"type": "invalid_request_error", "code": code, "message": message}
    if param:
        error["param"] = param
    return status, {"error": error}


def _missing(kind: str, ident: str, param: str | None = None) -> Answer:
    return _error(404, f"No such {kind}: '{ident}'", code="resource_missing", param=param)


@dataclass
class _Scoped:
    body: dict[str, Any]
    account: str | None  # the Stripe-Account it was created under


@dataclass(frozen=True)
class _PaymentTerms:
    application_fee: int
    destination: str | None


@dataclass(frozen=True)
class RefundEffect:
    """How a refund changed the platform's and the connected account's balances."""

    platform: int
    connected: int
    fee_back: int = field(default=0, compare=False)  # what the fee gave back with it


def _proportion(amount: int, part: int, whole: int, step: int = 1) -> int:
    """amount × part / whole, rounded half up to a multiple of `step`."""
    return (2 * amount * part + whole * step) // (2 * whole * step) * step


class StripeObjects:
    """The state Stripe keeps for Bookpay's calls, and the operations on it that are not
    refunds (StripeStandIn adds those and routes the requests)."""

    def __init__(
        self,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        validator: StripeOpenAPIValidator | None = None,
    ) -> None:
        self._clock = clock
        self._validator = validator or stripe_openapi()
        self._counter = 0
        self.accounts: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, _Scoped] = {}
        self.payment_intents: dict[str, _Scoped] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        # Who gave back what for each refund, per Stripe's documented semantics.
        self.refund_effects: dict[str, RefundEffect] = {}
        # A destination charge's transfer to the connected account: what is left of it.
        self.transfers: dict[str, dict[str, Any]] = {}
        # The platform's application fee of each charge that took one, by charge id.
        self.application_fees: dict[str, dict[str, Any]] = {}
        self._terms: dict[str, _PaymentTerms] = {}  # by session id, then by intent id
        # Disputes the cardholders opened, by id (open_dispute).
        self.disputes: dict[str, dict[str, Any]] = {}
        self._replays: dict[tuple[str | None, str], tuple[str, Answer]] = {}

    def _id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_standin{self._counter:06d}"

    def _now(self) -> int:
        return int(self._clock().timestamp())

    # --- accounts ---------------------------------------------------------------------------

    def _create_account(self, params: dict[str, Any]) -> Answer:
        account = stripe_fixture("account")
        account_id = self._id("acct")
        account.update(
            id=account_id,
            type=params.get("type", "standard"),
            country=params.get("country", "US"),
            email=params.get("email"),
            created=self._now(),
            metadata=params.get("metadata", {}),
            charges_enabled=False,
            payouts_enabled=False,
            details_submitted=False,
        )
        account["external_accounts"]["url"] = f"/v1/accounts/{account_id}/external_accounts"
        self.accounts[account_id] = account
        return 200, account

    def complete_onboarding(self, account_id: str) -> None:
        account = self.accounts[account_id]
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        account["requirements"].update(currently_due=[], eventually_due=[], past_due=[])

    def _create_account_link(self, params: dict[str, Any]) -> Answer:
        account_id = params["account"]
        if account_id not in self.accounts:
            return _missing("account", account_id, "account")
        link = stripe_fixture("account_link")
        link.update(
            created=self._now(),
            expires_at=self._now() + 300,
            url=f"https://connect.stripe.com/setup/e/{account_id}/{self._id('link')}",
        )
        return 200, link

    # --- checkout ---------------------------------------------------------------------------

    def _create_session(self, params: dict[str, Any], account: str | None) -> Answer:
        expires_at = int(params.get("expires_at", self._now() + 86400))
        lifetime = timedelta(seconds=expires_at - self._now())
        if not timedelta(minutes=30) <= lifetime <= timedelta(hours=24):
            return _error(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                code="parameter_invalid_integer",
                param="expires_at",
            )
        destination = params.get("payment_intent_data", {}).get("transfer_data", {})
        for connected in (account, destination.get("destination")):
            if connected is not None and connected not in self.accounts:
                return _missing("account", connected)
            if connected is not None and not self.accounts[connected]["charges_enabled"]:
                return _error(
                    400,
                    "Your destination account needs to have at least one of the following "
                    "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                    code="insufficient_capabilities_for_transfer",
                )
        lines = [params["line_items"][i] for i in sorted(params["line_items"], key=int)]
        total = sum(
            int(line["price_data"]["unit_amount"]) * int(line.get("quantity", "1"))
            for line in lines
        )
        session = stripe_fixture("checkout.session")
        session_id = self._id("cs_test")
        session.update(
            id=session_id,
            amount_subtotal=total,
            amount_total=total,
            currency=lines[0]["price_data"]["currency"],
            client_reference_id=params.get("client_reference_id"),
            customer_email=params.get("customer_email"),
            customer_details=None,
            metadata=params.get("metadata", {}),
            expires_at=expires_at,
            created=self._now(),
            success_url=params["success_url"],
            cancel_url=params.get("cancel_url"),
            payment_intent=None,
            payment_status="unpaid",
            status="open",
            url=f"https://checkout.stripe.com/c/pay/{session_id}",
        )
        self.sessions[session_id] = _Scoped(session, account)
        intent_data = params.get("payment_intent_data", {})
        self._terms[session_id] = _PaymentTerms(
            application_fee=int(intent_data.get("application_fee_amount", 0)),
            destination=destination.get("destination"),
        )
        return 200, session

    def _expire_session(self, session_id: str, account: str | None) -> Answer:
        session = self.sessions.get(session_id)
        if session is None or session.account != account:
            return _missing("checkout.session", session_id)
        if session.body["status"] != "open":
            return _error(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired.',
                code="checkout_session_not_open",
            )
        session.body.update(status="expired", url=None)
        return 200, session.body

    def complete_session(self, session_id: str, *, paid: bool = True) -> str:
        """The customer pays on the hosted page; returns the payment intent id. Unpaid: the
        customer chose a voucher (Boleto, Konbini, OXXO) still to be paid at the store, its
        intent `requires_action` until then."""
        session = self.sessions[session_id]
        intent_id = self._id("pi")
        session.body.update(
            status="complete", payment_status="paid" if paid else "unpaid", url=None
        )
        session.body["payment_intent"] = intent_id
        intent = stripe_fixture("payment_intent")
        intent.update(
            id=intent_id,
            amount=session.body["amount_total"],
            amount_received=session.body["amount_total"] if paid else 0,
            currency=session.body["currency"],
            status="succeeded" if paid else "requires_action",
            amount_refunded=0,
        )
        self.payment_intents[intent_id] = _Scoped(intent, session.account)
        self._terms[intent_id] = self._terms[session_id]
        charge_id = self._id("ch")
        intent["latest_charge"] = charge_id
        terms = self._terms[intent_id]
        if paid and terms.application_fee:
            fee = stripe_fixture("application_fee")
            fee.update(
                id=self._id("fee"),
                amount=terms.application_fee,
                amount_refunded=0,
                charge=charge_id,
                currency=intent["currency"],
                refunded=False,
            )
            self.application_fees[charge_id] = fee
        if paid and terms.destination is not None:
            # The whole charge is transferred, the application fee collected back from it.
            self.transfers[f"tr_{charge_id}"] = {
                "amount": intent["amount_received"] - terms.application_fee,
                "reversed": 0,
                "currency": intent["currency"],
                "destination": terms.destination,
            }
        return intent_id

    def fail_delayed_payment(self, session_id: str) -> None:
        """The voucher expired unpaid: Stripe leaves the session complete and unpaid, and
        its payment intent back at `requires_payment_method`."""
        session = self.sessions[session_id].body
        assert (session["status"], session["payment_status"]) == ("complete", "unpaid")
        self.payment_intents[session["payment_intent"]].body["status"] = "requires_payment_method"

    # --- payment intents and transfers ------------------------------------------------------

    def _retrieve_intent(
        self, intent_id: str, params: dict[str, Any], account: str | None
    ) -> Answer:
        intent = self.payment_intents.get(intent_id)
        if intent is None or intent.account != account:
            return _missing("payment_intent", intent_id)
        body = dict(intent.body)
        expand = params.get("expand") or {}
        expanded = expand.values() if isinstance(expand, dict) else expand
        if "latest_charge" in expanded and body.get("latest_charge"):
            body["latest_charge"] = self._charge(intent_id)
        return 200, body

    def _charge(self, intent_id: str) -> dict[str, Any]:
        """The charge of a paid payment intent, as Stripe shows it now."""
        intent = self.payment_intents[intent_id].body
        charge = stripe_fixture("charge")
        transfer = f"tr_{intent['latest_charge']}"
        charge.update(
            id=intent["latest_charge"],
            amount=intent["amount"],
            amount_refunded=intent["amount_refunded"],
            refunded=intent["amount_refunded"] == intent["amount"],
            disputed=any(d["charge"] == intent["latest_charge"] for d in self.disputes.values()),
            currency=intent["currency"],
            payment_intent=intent_id,
            transfer=transfer if transfer in self.transfers else None,
        )
        fee = self.application_fees.get(intent["latest_charge"])
        charge["application_fee"] = None if fee is None else fee["id"]
        charge["application_fee_amount"] = None if fee is None else fee["amount"]
        return charge

    def _intent_of_charge(self, charge_id: str) -> str | None:
        return next(
            (i for i, p in self.payment_intents.items() if p.body["latest_charge"] == charge_id),
            None,
        )

    def _retrieve_charge(self, charge_id: str, account: str | None) -> Answer:
        intent_id = self._intent_of_charge(charge_id)
        if intent_id is None or self.payment_intents[intent_id].account != account:
            return _missing("charge", charge_id)
        return 200, self._charge(intent_id)

    def open_dispute(self, intent_id: str, amount: int, *, status: str = "needs_response") -> str:
        """The cardholder disputes `amount` of the payment's charge; the dispute's id."""
        intent = self.payment_intents[intent_id]
        dispute = stripe_fixture("dispute")
        dispute.update(
            id=self._id("dp"),
            amount=amount,
            charge=intent.body["latest_charge"],
            payment_intent=intent_id,
            currency=intent.body["currency"],
            created=self._now(),
            status=status,
            is_charge_refundable=False,
            reason="fraudulent",
            balance_transactions=[],
        )
        self.disputes[dispute["id"]] = {**dispute, "_account": intent.account}
        return str(dispute["id"])

    def _list_disputes(self, params: dict[str, Any], account: str | None) -> Answer:
        charge_id = params.get("charge")
        found = [
            {k: v for k, v in d.items() if k != "_account"}
            for d in self.disputes.values()
            if d["_account"] == account and charge_id in (None, d["charge"])
        ]
        return 200, {"object": "list", "data": found, "has_more": False, "url": "/v1/disputes"}
