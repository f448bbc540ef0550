"""How a refund is asked of the gateway: its parameters per charge model, and the ids
that make a retry of the same refund the same request (application/refunds.py runs them)."""

from __future__ import annotations

import hashlib

from application.ports.gateway import PaymentGateway, RefundRequest, RefundResult
from domain.booking import Booking
from domain.cancellation import RefundSplit
from domain.errors import IllegalTransition
from domain.tenant import ChargeModel, Tenant


def refund_request(
    tenant: Tenant,
    booking: Booking,
    split: RefundSplit,
    idempotency_key: str,
    reason: str | None,
) -> RefundRequest:
    """How a refund is asked of the gateway, per charge model and fee policy.

    Destination charge (the platform charged, the whole amount was transferred to the
    tenant and the application fee taken back from it): `reverse_transfer` always pulls the
    refunded amount back from the tenant's transfer, so the platform's own balance never
    pays for the refund; `refund_application_fee` gives back the same share of the fee
    only when the split says the fee comes back (proportional). With a non-refundable fee
    the tenant's reversal pays for all of it, the fee included when the tenant cancels.
    Direct charge: the refund comes out of the tenant's own account; the fee comes back
    from the platform only when the split says so.
    """
    if booking.payment_intent_id is None:
        raise IllegalTransition(booking.id, booking.status, "refund without a payment")
    destination = tenant.charge_model is ChargeModel.DESTINATION
    return RefundRequest(
        booking_id=booking.id,
        payment_intent_id=booking.payment_intent_id,
        amount=split.customer_refund,
        charge_model=tenant.charge_model,
        refund_application_fee=not split.application_fee_refund.is_zero,
        reverse_transfer=destination,
        idempotency_key=idempotency_key,
        account_id=tenant.charge_account_id,
        reason=reason,
    )


async def issue_refund(
    gateway: PaymentGateway,
    tenant: Tenant,
    booking: Booking,
    split: RefundSplit,
    reason: str | None,
    idempotency_key: str | None = None,
) -> RefundResult:
    """Send a refund of `split` to the gateway (see refund_request for the parameters).

    Without a key, the key counts the booking's refunds, so a retry of the same refund
    reuses it.
    """
    key = idempotency_key or f"bookpay-refund-{booking.id}-{len(booking.refunds) + 1}"
    return await gateway.refund(refund_request(tenant, booking, split, key, reason))


def reservation_id(booking: Booking, split: RefundSplit, request_key: str | None = None) -> str:
    """Bookpay's id of a refund before the gateway knows it; also its idempotency key.

    A request that carries its own idempotency key (`request_key`, e.g. the client's
    Idempotency-Key) reserves under an id derived from it: a retry of that request finds
    its refund (Booking.reserve_refund changes nothing) and reserves no second one.
    Otherwise positions count every refund reserved so far. A refund reserved in the place
    of a released one gets the same position; with the amount in the id, only the very
    same request (which the gateway refused before) gets the gateway's earlier answer
    again. An id another refund of the booking holds or was reserved under is never reused.
    """
    if request_key is not None:
        digest = hashlib.sha256(request_key.encode()).hexdigest()[:32]
        return f"bookpay-refund-{booking.id}-key-{digest}"
    amount = split.customer_refund.amount
    taken = {refund.refund_id for refund in booking.refunds}
    taken |= {refund.reference for refund in booking.refunds if refund.reference}
    position = len(booking.refunds) + 1
    while f"bookpay-refund-{booking.id}-{position}-{amount}" in taken:
        position += 1
    return f"bookpay-refund-{booking.id}-{position}-{amount}"
