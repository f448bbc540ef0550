"""The fake Stripe's money after the payment: refunds (Bookpay's, through the gateway port,
and the dashboard's), the application fee refunds Stripe makes with them, and disputes.

Each action reads the charge, decides, and commits the refund or dispute, the charge and
the fee whole with their events, deciding again when a racing action got there first: so
no refund is lost, together they never exceed the charge, and while a dispute makes the
charge unrefundable a refund is refused, as Stripe refuses it.
"""

from __future__ import annotations

from typing import Any

from adapters.fake_stripe.payments import (
    apply_fee_refund,
    apply_refund,
    charge_for_event,
    fee_refund_amount,
    move_dispute_funds,
    new_dispute,
    public,
    refund_refusal,
    refundable,
)
from adapters.fake_stripe.state import Event, FakeStripeState, until_not_stale
from adapters.fake_stripe.store import FakeObject
from adapters.stripe_wire.events import REFUND_REFERENCE, refund_result_from_stripe
from application.errors import Conflict, GatewayInvalidRequest, InvalidRequest, NotFound
from application.ports.gateway import (
    RefundRequest,
    RefundResult,
    TransferReversalRequest,
    TransferReversalResult,
)
from domain.money import Money
from domain.tenant import charge_account


class DashboardActionRefused(Conflict):
    """Stripe would refuse this dashboard action in the object's current state."""


def _refund_result(stored: FakeObject | None) -> RefundResult:
    if stored is None or stored.kind != "refund":
        message = stored.body.get("message") if stored else "the first request is in flight"
        raise GatewayInvalidRequest(str(message))
    return refund_result_from_stripe(public(stored.body))


class FakeStripeMoney:
    """Refunds and disputes of the fake Stripe's charges, on its shared state."""

    def __init__(self, state: FakeStripeState) -> None:
        self._state = state

    async def _paid_charge(self, intent: FakeObject) -> FakeObject:
        charge_id = intent.body.get("latest_charge")
        if intent.body["status"] != "succeeded" or not charge_id:
            raise GatewayInvalidRequest(f"payment intent {intent.id} has no charge")
        return await self._state.load(charge_id, "charge", intent.account_id)

    async def _refund(
        self,
        intent: FakeObject,
        *,
        amount: int | None,
        refund_application_fee: bool,
        idempotency_key: str | None,
        metadata: dict[str, str],
        reason: str | None = None,
        currency: str | None = None,
    ) -> RefundResult:
        """Refund `amount` (None: all that is left) of the intent's charge, and its share
        of the application fee when asked: charge.refunded (+ application_fee.refunded).

        Read, decided and committed whole: a racing refund makes this one decide again,
        so none is lost and together they never exceed the charge. With a key, Stripe's
        idempotency: the first answer (refund or refusal) answers every retry.
        """
        charge = await self._paid_charge(intent)
        refund_id = await self._state.new_id("re")
        key = f"refund:{idempotency_key}" if idempotency_key else None
        if currency is not None and currency != charge.body["currency"]:
            raise GatewayInvalidRequest("the refund currency differs from the charge's")

        async def decide() -> str:
            charge = await self._paid_charge(intent)
            body = charge.body
            wanted = refundable(body) if amount is None else amount
            refusal = refund_refusal(body, wanted)
            if refusal is not None and key is None:
                raise GatewayInvalidRequest(refusal)
            if refusal is not None:
                error = FakeObject(refund_id, {"object": "error", "message": refusal})
                return await self._state.commit([error], idempotency_key=key) or refund_id
            fee = await self._state.store.get_object(body["application_fee"] or "")
            fee_back = (
                fee_refund_amount(fee.body, body, wanted)
                if fee is not None and refund_application_fee
                else 0
            )
            refund = apply_refund(
                body,
                refund_id=refund_id,
                amount=wanted,
                created=self._state.now(),
                metadata=metadata,
                reason=reason,
            )
            changed = [FakeObject(refund_id, refund, charge.account_id), charge]
            events: list[Event] = [("charge.refunded", charge_for_event(body), charge.account_id)]
            if fee is not None and fee_back > 0:
                apply_fee_refund(
                    fee.body,
                    fee_refund_id=await self._state.new_id("fr"),
                    amount=fee_back,
                    created=self._state.now(),
                )
                changed.append(fee)
                events.append(("application_fee.refunded", fee.body, None))
            return await self._state.commit(changed, events, idempotency_key=key) or refund_id

        return _refund_result(await self._state.store.get_object(await until_not_stale(decide)))

    async def refund(self, request: RefundRequest) -> RefundResult:
        account = charge_account(request.charge_model, request.account_id)
        intent = await self._state.load(request.payment_intent_id, "payment_intent", account)
        if request.amount.amount <= 0:
            raise GatewayInvalidRequest("the refund amount must be positive")
        return await self._refund(
            intent,
            amount=request.amount.amount,
            refund_application_fee=request.refund_application_fee,
            idempotency_key=request.idempotency_key,
            metadata={"booking_id": request.booking_id, REFUND_REFERENCE: request.idempotency_key},
            reason=request.reason,
            currency=request.amount.currency,
        )

    async def reverse_transfer(self, request: TransferReversalRequest) -> TransferReversalResult:
        """Take money back from a destination charge's transfer (the charge's amount less
        its application fee), never more than is left of it; once per idempotency key.

        Read, decided and committed whole like a refund, so racing reversals never take
        back more than the transfer holds."""
        intent = await self._state.load(request.payment_intent_id, "payment_intent", None)
        if request.amount.amount <= 0:
            raise GatewayInvalidRequest("a reversal is a positive amount")
        reversal_id = await self._state.new_id("trr")
        key = f"transfer_reversal:{request.idempotency_key}"

        async def decide() -> str:
            charge = await self._paid_charge(intent)
            body = charge.body
            # What refunds already took back from the transfer (reverse_transfer) counts too.
            left = body["amount"] - (body.get("application_fee_amount") or 0)
            left -= body.get("_transfer_reversed", 0)
            refusal = None
            if not body.get("transfer_data"):
                refusal = f"charge {charge.id} made no transfer to reverse"
            elif request.amount.currency != body["currency"]:
                refusal = "a reversal is in the charge's currency"
            elif request.amount.amount > left:
                refusal = (
                    f"the reversal ({request.amount.amount}) exceeds what is left of the "
                    f"transfer ({left})"
                )
            if refusal is not None:
                # Stripe's idempotency: a retry gets the first answer, the refusal included.
                error = FakeObject(reversal_id, {"object": "error", "message": refusal})
                return await self._state.commit([error], idempotency_key=key) or reversal_id
            reversal = {
                "id": reversal_id,
                "object": "transfer_reversal",
                "amount": request.amount.amount,
                "currency": body["currency"],
                "created": self._state.now(),
                "metadata": {"booking_id": request.booking_id},
                "transfer": f"tr_{charge.id}",
            }
            body["_transfer_reversed"] = body.get("_transfer_reversed", 0) + request.amount.amount
            made = [FakeObject(reversal_id, reversal, None), charge]
            return await self._state.commit(made, idempotency_key=key) or reversal_id

        kept = await self._state.store.get_object(await until_not_stale(decide))
        if kept is None or kept.kind != "transfer_reversal":
            message = kept.body.get("message") if kept else "the first request is in flight"
            raise GatewayInvalidRequest(str(message))
        return TransferReversalResult(
            kept.body["id"], Money(kept.body["amount"], kept.body["currency"])
        )

    async def list_refunds(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> list[RefundResult]:
        intent = await self._state.load(payment_intent_id, "payment_intent", account_id)
        charge_id = intent.body.get("latest_charge")
        if not charge_id:
            return []
        charge = await self._state.load(charge_id, "charge", account_id)
        return [refund_result_from_stripe(refund) for refund in charge.body["refunds"]["data"]]

    async def retrieve_charge(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> dict[str, Any]:
        """The payment's charge as Stripe shows it, refunds expanded (`amount_refunded`,
        `disputed`, `application_fee` id). GatewayInvalidRequest when it has none."""
        intent = await self._state.load(payment_intent_id, "payment_intent", account_id)
        return public((await self._paid_charge(intent)).body)

    async def retrieve_application_fee(self, fee_id: str) -> dict[str, Any]:
        """The platform's application fee as Stripe shows it: `amount`, `amount_refunded`
        (what Stripe gave back, with every refund) and its fee refunds."""
        return public((await self._state.load(fee_id, "application_fee", None)).body)

    # --- The dashboard: what happens in Stripe, not through Bookpay ----------------------

    async def refund_payment(
        self,
        payment_intent_id: str,
        *,
        amount: int | None = None,
        refund_application_fee: bool = False,
    ) -> RefundResult:
        """A refund made in Stripe's dashboard: `amount` minor units of the charge's
        currency (None: all that is left), the application fee in proportion when asked.
        NotFound for an unknown payment; DashboardActionRefused when Stripe would refuse
        (nothing charged, more than is left, a dispute that blocks refunds)."""
        intent = await self._state.find(payment_intent_id, "payment_intent")
        try:
            return await self._refund(
                intent,
                amount=amount,
                refund_application_fee=refund_application_fee,
                idempotency_key=None,
                metadata={},
            )
        except GatewayInvalidRequest as refused:
            raise DashboardActionRefused(str(refused)) from refused

    async def open_dispute(
        self,
        payment_intent_id: str,
        *,
        account_id: str | None = None,
        reason: str = "general",
        amount: int | None = None,
    ) -> str:
        """The cardholder disputes `amount` (None: all that is not refunded) of the charge:
        charge.dispute.created (needs a response, the charge no longer refundable), then
        charge.dispute.funds_withdrawn (with Stripe's dispute fee). The dispute's id.
        NotFound for an unknown payment; DashboardActionRefused when there is nothing to
        dispute; InvalidRequest for an amount above what is not refunded."""
        intent = await self._state.find(payment_intent_id, "payment_intent")
        if account_id is not None and intent.account_id != account_id:
            raise NotFound("payment intent", payment_intent_id)
        dispute_id = await self._state.new_id("dp")
        transaction_id = await self._state.new_id("txn")

        async def decide() -> str:
            try:
                charge = await self._paid_charge(intent)
            except GatewayInvalidRequest as refused:
                raise DashboardActionRefused(str(refused)) from refused
            disputed = refundable(charge.body) if amount is None else amount
            if charge.body.get("_dispute_blocks_refunds") or refundable(charge.body) == 0:
                raise DashboardActionRefused(f"charge {charge.id} cannot be disputed now")
            if not 0 < disputed <= refundable(charge.body):
                raise InvalidRequest(
                    f"a dispute's amount must be between 1 and {refundable(charge.body)}"
                )
            dispute = new_dispute(
                dispute_id, charge.body, amount=disputed, reason=reason, created=self._state.now()
            )
            created = ("charge.dispute.created", dict(dispute), charge.account_id)
            dispute = {**dispute, "balance_transactions": []}
            move_dispute_funds(
                dispute, transaction_id=transaction_id, withdrawn=True, created=self._state.now()
            )
            charge.body.update(disputed=True, _dispute_blocks_refunds=True)
            withdrawn = ("charge.dispute.funds_withdrawn", dispute, charge.account_id)
            stored = FakeObject(dispute_id, dispute, charge.account_id)
            await self._state.commit([stored, charge], [created, withdrawn])
            return dispute_id

        return await until_not_stale(decide)

    async def close_dispute(self, dispute_id: str, *, won: bool) -> dict[str, Any]:
        """The dispute is decided: charge.dispute.closed, and when won the funds come back
        (charge.dispute.funds_reinstated) and the charge can be refunded again. The closed
        dispute. NotFound for an unknown dispute; DashboardActionRefused when closed."""
        transaction_id = await self._state.new_id("txn")

        async def decide() -> dict[str, Any]:
            dispute = await self._state.find(dispute_id, "dispute")
            body = dispute.body
            if body["status"] in ("won", "lost"):
                raise DashboardActionRefused(f"dispute {dispute_id} is already {body['status']}")
            charge = await self._state.load(body["charge"], "charge", dispute.account_id)
            body.update(status="won" if won else "lost", is_charge_refundable=won)
            events: list[Event] = [("charge.dispute.closed", dict(body), dispute.account_id)]
            if won:
                body["balance_transactions"] = [*body["balance_transactions"]]
                move_dispute_funds(
                    body, transaction_id=transaction_id, withdrawn=False, created=self._state.now()
                )
                events.append(("charge.dispute.funds_reinstated", body, dispute.account_id))
                charge.body["_dispute_blocks_refunds"] = False
            await self._state.commit([dispute, charge], events)
            return public(body)

        return await until_not_stale(decide)
