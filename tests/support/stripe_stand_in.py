"""Stripe, as far as Bookpay's requests go: the stand-in that answers the SDK's requests
(see stripe_http.py), refusing what Stripe's OpenAPI spec would refuse, replaying answers
for a repeated Idempotency-Key, and giving money back the way Stripe documents it.
"""

from __future__ import annotations

from typing import Any

from domain.money import granularity
from tests.support.stripe_objects import (
    Answer,
    RecordedRequest,
    RefundEffect,
    StripeObjects,
    _error,
    _missing,
    _proportion,
)
from tests.support.stripe_reference import stripe_fixture


class StripeStandIn(StripeObjects):
    """Stripe, as far as Bookpay's requests go: accounts, links, sessions, refunds."""

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
                return self._retrieve_session(session_id, params, account)
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

    def _retrieve_session(
        self, session_id: str, params: dict[str, Any], account: str | None
    ) -> Answer:
        session = self.sessions.get(session_id)
        if session is None or session.account != account:
            return _missing("checkout.session", session_id)
        body = dict(session.body)
        expand = params.get("expand") or {}
        expanded = expand.values() if isinstance(expand, dict) else expand
        if "payment_intent" in expanded and body.get("payment_intent"):
            body["payment_intent"] = dict(self.payment_intents[body["payment_intent"]].body)
        return 200, body

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
        reverses the transfer in proportion to the amount refunded (here: the amount itself).
        Direct charge: the connected account pays the refund; the platform gives back the
        fee when asked.

        `refund_application_fee` (openapi-spec3.json, POST /v1/refunds): "If a full charge
        refund is given, the full application fee will be refunded. Otherwise, the
        application fee will be refunded in an amount proportional to the amount of the
        charge refunded." So each refund's fee refund is that refund's own share (fee ×
        amount / charge), rounded half-up on its own to the currency's step (Stripe does
        not document the rounding; see domain.cancellation.stripe_fee_refund), never more
        than is left of the fee; the refund that empties the charge gives back the rest.
        """
        intent = self.payment_intents[intent_id].body
        terms = self._terms[intent_id]
        total, before = intent["amount_received"], intent["amount_refunded"]
        fee = self.application_fees.get(intent["latest_charge"])
        left = 0 if fee is None else fee["amount"] - fee["amount_refunded"]
        fee_back = 0
        if params.get("refund_application_fee") == "true" and total:
            if before + amount >= total:
                fee_back = left
            else:
                step = granularity(intent["currency"])
                fee_back = min(left, _proportion(terms.application_fee, amount, total, step))
        if terms.destination is None:
            return RefundEffect(platform=-fee_back, connected=-amount + fee_back, fee_back=fee_back)
        reversal = amount if params.get("reverse_transfer") == "true" else 0
        return RefundEffect(
            platform=-amount + reversal - fee_back,
            connected=-reversal + fee_back,
            fee_back=fee_back,
        )
