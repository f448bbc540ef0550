"""A Stripe API stand-in for tests, reached through the SDK's own HTTP client hook.

`RecordingStripeHTTPClient` is given to `StripeClient(http_client=...)`: it records every
request the SDK sends (method, path, headers, decoded form) and answers from a
`StripeStandIn`, which keeps just enough state to behave like Stripe for Bookpay's calls —
built from the objects of `tests/support/stripe/fixtures3.json`, refusing any request Stripe's
OpenAPI spec would refuse, and replaying answers for a repeated Idempotency-Key. Faults
(timeouts, 5xx, 429, card errors…) can be queued in front of it.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import stripe

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


# --- Faults ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeout:
    """The connection times out; with `after_processing`, Stripe did the work first."""

    after_processing: bool = False


@dataclass(frozen=True)
class HTTPFault:
    status: int
    type: str = "api_error"
    code: str | None = None
    message: str = "injected fault"
    headers: Mapping[str, str] = field(default_factory=dict)

    def answer(self) -> Answer:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        return self.status, {"error": error}


SERVER_ERROR = HTTPFault(500, "api_error", message="Something went wrong on Stripe's end.")
RATE_LIMITED = HTTPFault(429, "invalid_request_error", "rate_limit", "Too many requests.")
CARD_DECLINED = HTTPFault(402, "card_error", "card_declined", "Your card was declined.")
BAD_REQUEST = HTTPFault(400, "invalid_request_error", "parameter_invalid", "Invalid request.")
UNAUTHORIZED = HTTPFault(401, "invalid_request_error", None, "Invalid API Key provided.")
FORBIDDEN = HTTPFault(403, "invalid_request_error", None, "No access to that account.")
Fault = Timeout | HTTPFault


class RecordingStripeHTTPClient(stripe.HTTPClient):
    """The SDK's HTTP client interface, answering from a stand-in instead of the network."""

    name = "bookpay-recording"

    def __init__(self, stand_in: StripeStandIn) -> None:
        super().__init__()
        self.stand_in = stand_in
        self.requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()

    def inject(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, in order, before the stand-in."""
        self._faults.extend(faults)

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        request = RecordedRequest(method.upper(), url, dict(headers), post_data or "")
        self.requests.append(request)
        fault = self._faults.popleft() if self._faults else None
        if isinstance(fault, Timeout):
            if fault.after_processing:
                self.stand_in.handle(request)
            # What the SDK's own clients raise for a timeout.
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                "Unexpected error communicating with Stripe. (Network error: timed out)",
                should_retry=True,
            )
        status, body = fault.answer() if fault else self.stand_in.handle(request)
        response_headers = {"Request-Id": f"req_{len(self.requests)}"}
        if fault:
            response_headers |= dict(fault.headers)
        return json.dumps(body).encode(), status, response_headers

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the gateway only uses the async client")

    async def sleep_async(self, secs: float) -> None:
        return None

    async def close_async(self) -> None:
        return None

    def close(self) -> None:
        return None


# --- The stand-in ---------------------------------------------------------------------------


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


class StripeStandIn:
    """Stripe, as far as Bookpay's requests go: accounts, links, sessions, refunds."""

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

    def handle(self, request: RecordedRequest) -> Answer:
        errors = self._validator.validate(request.method, request.path, request.encoded_params)
        if errors:
            return _error(400, "; ".join(errors), code="parameter_unknown")
        key = request.idempotency_key
        if request.method == "POST" and key:
            scope = (request.stripe_account, key)
            if scope in self._replays:
                body, answer = self._replays[scope]
                if body != request.body:
                    return 400, {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with "
                            "the same parameters they were first used with.",
                        }
                    }
                return answer
            answer = self._route(request)
            self._replays[scope] = (request.body, answer)
            return answer
        return self._route(request)

    def _route(self, request: RecordedRequest) -> Answer:
        segments = request.path.strip("/").split("/")[1:]  # drop "v1"
        params = request.params
        account = request.stripe_account
        match request.method, segments:
            case "POST", ["accounts"]:
                return self._create_account(params)
            case "GET", ["accounts", account_id]:
                found = self.accounts.get(account_id)
                return (200, found) if found else _missing("account", account_id)
            case "POST", ["account_links"]:
                return self._create_account_link(params)
            case "POST", ["checkout", "sessions"]:
                return self._create_session(params, account)
            case "GET", ["checkout", "sessions", session_id]:
                session = self.sessions.get(session_id)
                if session is None or session.account != account:
                    return _missing("checkout.session", session_id)
                return 200, session.body
            case "POST", ["checkout", "sessions", session_id, "expire"]:
                return self._expire_session(session_id, account)
            case "POST", ["refunds"]:
                return self._create_refund(params, account)
            case "GET", ["refunds"]:
                return self._list_refunds(params, account)
            case "GET", ["payment_intents", intent_id]:
                return self._retrieve_intent(intent_id, params, account)
            case "GET", ["charges", charge_id]:
                return self._retrieve_charge(charge_id, account)
            case "GET", ["disputes"]:
                return self._list_disputes(params, account)
            case "GET", ["application_fees", fee_id]:
                found = next((f for f in self.application_fees.values() if f["id"] == fee_id), None)
                if found is None or account is not None:
                    return _missing("application_fee", fee_id)
                return 200, found
            case "POST", ["transfers", transfer_id, "reversals"]:
                return self._reverse_transfer(transfer_id, params, account)
        return _error(404, f"Unrecognized request URL ({request.path})", code="url_invalid")

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
        """The customer pays on the hosted page; returns the payment intent id."""
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
            status="succeeded" if paid else "processing",
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

    def _reverse_transfer(
        self, transfer_id: str, params: dict[str, Any], account: str | None
    ) -> Answer:
        transfer = self.transfers.get(transfer_id)
        if transfer is None or account is not None:
            return _missing("transfer", transfer_id)
        left = transfer["amount"] - transfer["reversed"]
        amount = int(params.get("amount", left))
        if amount > left:
            return _error(
                400,
                "The transfer has insufficient funds to reverse this amount.",
                code="parameter_invalid",
                param="amount",
            )
        transfer["reversed"] += amount
        reversal = stripe_fixture("transfer_reversal")
        reversal.update(
            id=self._id("trr"),
            amount=amount,
            currency=transfer["currency"],
            transfer=transfer_id,
            created=self._now(),
            metadata=params.get("metadata", {}),
        )
        return 200, reversal

    # --- refunds ----------------------------------------------------------------------------

    def _create_refund(self, params: dict[str, Any], account: str | None) -> Answer:
        intent_id = params.get("payment_intent", "")
        intent = self.payment_intents.get(intent_id)
        if intent is None or intent.account != account:
            return _missing("payment_intent", intent_id, "payment_intent")
        if account is not None and "reverse_transfer" in params:
            return _error(
                400,
                "You cannot reverse the transfer of a charge that has no transfer.",
                code="parameter_invalid",
                param="reverse_transfer",
            )
        if intent.body["status"] != "succeeded":
            return _error(400, "This PaymentIntent has no charge.", code="charge_not_refundable")
        remaining = intent.body["amount_received"] - intent.body["amount_refunded"]
        amount = int(params.get("amount", remaining))
        if amount > remaining:
            return _error(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                code="amount_too_large",
                param="amount",
            )
        effect = self._effect(intent_id, amount, params)
        fee = self.application_fees.get(intent.body["latest_charge"])
        if fee is not None:
            fee["amount_refunded"] += effect.fee_back
            fee["refunded"] = fee["amount_refunded"] == fee["amount"]
        intent.body["amount_refunded"] += amount
        refund = stripe_fixture("refund")
        refund.update(
            id=self._id("re"),
            amount=amount,
            currency=intent.body["currency"],
            payment_intent=intent_id,
            created=self._now(),
            metadata=params.get("metadata", {}),
            reason=params.get("reason"),
            status="succeeded",
        )
        self.refunds[refund["id"]] = refund
        self.refund_effects[refund["id"]] = effect
        return 200, refund

    def _list_refunds(self, params: dict[str, Any], account: str | None) -> Answer:
        intent_id = params.get("payment_intent") or self._intent_of_charge(params.get("charge", ""))
        intent_id = intent_id or ""
        intent = self.payment_intents.get(intent_id)
        if intent is None or intent.account != account:
            return _missing("payment_intent", intent_id, "payment_intent")
        found = [r for r in self.refunds.values() if r["payment_intent"] == intent_id]
        found.sort(key=lambda r: (r["created"], r["id"]), reverse=True)
        limit = int(params.get("limit", 10))
        return 200, {
            "object": "list",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "url": "/v1/refunds",
        }

    def _effect(self, intent_id: str, amount: int, params: dict[str, Any]) -> RefundEffect:
        """Who pays for a refund, as Stripe documents it (API version 2023-08-16).

        Destination charge with `application_fee_amount`: the whole charge was transferred
        to the connected account and the fee collected back from it. `reverse_transfer`
        reverses the transfer in proportion to the amount refunded (here: the amount itself);
        `refund_application_fee` gives back the fee in proportion to the amount refunded.
        Direct charge: the connected account pays the refund; the platform gives back the
        proportional fee when asked. The fee refunds are rounded on running totals, so a
        full refund returns exactly the whole fee.
        """
        intent = self.payment_intents[intent_id].body
        terms = self._terms[intent_id]
        total, before = intent["amount_received"], intent["amount_refunded"]
        fee_back = 0
        if params.get("refund_application_fee") == "true" and total:
            fee_back = _proportion(terms.application_fee, before + amount, total) - _proportion(
                terms.application_fee, before, total
            )
        if terms.destination is None:
            return RefundEffect(platform=-fee_back, connected=-amount + fee_back, fee_back=fee_back)
        reversal = amount if params.get("reverse_transfer") == "true" else 0
        return RefundEffect(
            platform=-amount + reversal - fee_back,
            connected=-reversal + fee_back,
            fee_back=fee_back,
        )


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


def _proportion(amount: int, part: int, whole: int) -> int:
    """amount × part / whole, rounded half up."""
    return (2 * amount * part + whole) // (2 * whole)
