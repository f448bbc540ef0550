"""The fake Stripe's answer to "what happened to this payment": its charge with every
refund, the application fee and what it gave back, and the charge's disputes — read from
the fake's store as Stripe's API shows them (PaymentGateway.retrieve_payment)."""

from __future__ import annotations

from adapters.fake_stripe.payments import public
from adapters.fake_stripe.state import FakeStripeState
from adapters.fake_stripe.store import FakeObject
from adapters.stripe_wire.events import payment_snapshot_from_stripe
from application.errors import GatewayInvalidRequest
from application.ports.gateway import PaymentSnapshot


async def payment_snapshot(
    state: FakeStripeState, payment_id: str, account_id: str | None
) -> PaymentSnapshot:
    """The payment (its payment intent or its charge, by id) seen from the platform or the
    connected account `account_id`; GatewayInvalidRequest when that sees no charge of it."""
    charge = await _charge(state, payment_id, account_id)
    fee_id = charge.body.get("application_fee")
    fee = None if not fee_id else await state.load(str(fee_id), "application_fee", None)
    disputes = [
        public(dispute.body)
        for dispute in await state.store.list_objects("dispute")
        if dispute.body.get("charge") == charge.id and dispute.account_id == account_id
    ]
    disputes.sort(key=lambda body: (body["created"], body["id"]))
    return payment_snapshot_from_stripe(
        public(charge.body),
        list(charge.body["refunds"]["data"]),
        None if fee is None else public(fee.body),
        disputes,
    )


async def _charge(state: FakeStripeState, payment_id: str, account_id: str | None) -> FakeObject:
    stored = await state.store.get_object(payment_id)
    if stored is not None and stored.kind == "charge":
        return await state.load(payment_id, "charge", account_id)
    intent = await state.load(payment_id, "payment_intent", account_id)
    charge_id = intent.body.get("latest_charge")
    if intent.body["status"] != "succeeded" or not charge_id:
        raise GatewayInvalidRequest(f"payment intent {payment_id} has no charge")
    return await state.load(str(charge_id), "charge", account_id)
