"""The money objects of the fake Stripe, shaped as API version 2023-08-16 shows them: a
charge with its application fee, refunds and application fee refunds, disputes and the
balance transactions that move a dispute's funds.

Plain functions over Stripe-shaped dicts: FakeGateway reads the stored objects, calls
these, and commits what they changed in one atomic write. Fields starting with `_` are the
fake's own bookkeeping and are never shown (see `public`).
"""

from __future__ import annotations

from typing import Any

from adapters.fake_stripe.objects import template
from adapters.stripe_wire.events import REFUND_REASONS
from domain.cancellation import stripe_fee_refund
from domain.money import Money, exponent

# What Stripe charges for a dispute, in major units of the charge's currency.
DISPUTE_FEE_MAJOR_UNITS = 15


def public(body: dict[str, Any]) -> dict[str, Any]:
    """The object as Stripe shows it: without the fake's private bookkeeping."""
    return {key: value for key, value in body.items() if not key.startswith("_")}


def charge_for_event(charge: dict[str, Any]) -> dict[str, Any]:
    # Since API version 2022-11-15 a charge's `refunds` list is left out unless expanded,
    # and events are never expanded: the event tells only `amount_refunded`.
    return {key: value for key, value in public(charge).items() if key != "refunds"}


def new_charge(
    charge_id: str, intent: dict[str, Any], *, created: int, fee_id: str | None
) -> dict[str, Any]:
    """The succeeded charge of a payment intent, with its application fee's id."""
    charge = template(
        "charge",
        id=charge_id,
        amount=intent["amount"],
        amount_captured=intent["amount"],
        amount_refunded=0,
        application_fee=fee_id,
        application_fee_amount=intent["application_fee_amount"],
        captured=True,
        created=created,
        currency=intent["currency"],
        metadata=dict(intent["metadata"]),
        on_behalf_of=intent["on_behalf_of"],
        paid=True,
        payment_intent=intent["id"],
        refunded=False,
        status="succeeded",
        transfer_data=intent["transfer_data"],
    )
    charge["refunds"]["url"] = f"/v1/charges/{charge_id}/refunds"
    return charge


def new_application_fee(
    fee_id: str, charge: dict[str, Any], *, account_id: str, created: int
) -> dict[str, Any]:
    """The platform's application fee on a charge, taken from the connected account."""
    return {
        "id": fee_id,
        "object": "application_fee",
        "account": account_id,
        "amount": charge["application_fee_amount"],
        "amount_refunded": 0,
        "application": None,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "livemode": False,
        "originating_transaction": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/application_fees/{fee_id}/refunds",
        },
    }


def refundable(charge: dict[str, Any]) -> int:
    """What is left to refund on the charge, in minor units."""
    return int(charge["amount"]) - int(charge["amount_refunded"])


def refund_refusal(charge: dict[str, Any], amount: int) -> str | None:
    """Why Stripe refuses to refund `amount` of the charge now; None when it would not."""
    if charge.get("_dispute_blocks_refunds"):
        return f"Charge {charge['id']} has been charged back; cannot issue a refund."
    if amount <= 0:
        return "The refund amount must be positive."
    if amount > refundable(charge):
        return (
            f"Refund amount ({amount}) is greater than the unrefunded amount on the charge "
            f"({refundable(charge)})"
        )
    return None


def fee_refund_amount(fee: dict[str, Any], charge: dict[str, Any], amount: int) -> int:
    """The application fee Stripe gives back with a refund of `amount` made with
    `refund_application_fee`: in proportion to that refund alone, all that is left of the
    fee when the refund empties the charge (domain.cancellation.stripe_fee_refund, which
    cites Stripe's documentation)."""
    currency = str(fee["currency"])
    back = stripe_fee_refund(
        Money(int(fee["amount"]), currency),
        Money(int(fee["amount"]) - int(fee["amount_refunded"]), currency),
        Money(int(charge["amount"]), currency),
        Money(int(charge["amount_refunded"]), currency),
        Money(amount, currency),
    )
    return back.amount


def apply_refund(
    charge: dict[str, Any],
    *,
    refund_id: str,
    amount: int,
    created: int,
    metadata: dict[str, str],
    reason: str | None,
) -> dict[str, Any]:
    """Refund `amount` of the charge (checked by `refund_refusal` first); the refund."""
    refund = template(
        "refund",
        id=refund_id,
        amount=amount,
        charge=charge["id"],
        created=created,
        currency=charge["currency"],
        metadata=metadata,
        payment_intent=charge["payment_intent"],
        reason=reason if reason in REFUND_REASONS else None,
        status="succeeded",
    )
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    charge["refunds"]["data"].insert(0, refund)
    return refund


def apply_fee_refund(
    fee: dict[str, Any], *, fee_refund_id: str, amount: int, created: int
) -> dict[str, Any]:
    """Give back `amount` of the application fee; the fee refund (`fr_…`)."""
    fee_refund = {
        "id": fee_refund_id,
        "object": "fee_refund",
        "amount": amount,
        "balance_transaction": None,
        "created": created,
        "currency": fee["currency"],
        "fee": fee["id"],
        "metadata": {},
    }
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] == fee["amount"]
    fee["refunds"]["data"].insert(0, fee_refund)
    return fee_refund


def new_dispute(
    dispute_id: str, charge: dict[str, Any], *, amount: int, reason: str, created: int
) -> dict[str, Any]:
    """A dispute the cardholder opened: needs a response, and the charge can no longer be
    refunded (Stripe would refuse, and the customer would be paid twice)."""
    dispute = template(
        "dispute",
        id=dispute_id,
        amount=amount,
        charge=charge["id"],
        created=created,
        currency=charge["currency"],
        is_charge_refundable=False,
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="needs_response",
    )
    dispute["evidence_details"]["due_by"] = created + 7 * 24 * 3600
    return dispute


def dispute_fee(currency: str) -> int:
    return int(DISPUTE_FEE_MAJOR_UNITS * 10 ** exponent(currency))


def move_dispute_funds(
    dispute: dict[str, Any], *, transaction_id: str, withdrawn: bool, created: int
) -> None:
    """Add the balance transaction that withdraws the disputed amount (with Stripe's
    dispute fee) or reinstates it, as `charge.dispute.funds_withdrawn/_reinstated` show."""
    amount = int(dispute["amount"]) * (-1 if withdrawn else 1)
    fee = dispute_fee(dispute["currency"]) if withdrawn else 0
    dispute["balance_transactions"].append(
        {
            "id": transaction_id,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": created,
            "created": created,
            "currency": dispute["currency"],
            "description": f"Chargeback {'withdrawal' if withdrawn else 'reversal'} for "
            f"{dispute['charge']}",
            "exchange_rate": None,
            "fee": fee,
            "fee_details": (
                [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": dispute["currency"],
                        "description": "Dispute fee",
                        "type": "stripe_fee",
                    }
                ]
                if fee
                else []
            ),
            "net": amount - fee,
            "reporting_category": "dispute" if withdrawn else "dispute_reversal",
            "source": dispute["id"],
            "status": "available",
            "type": "adjustment",
        }
    )
