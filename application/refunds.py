"""Send a refund to the gateway the way the tenant's charge model needs it."""

from __future__ import annotations

from application.ports import PaymentGateway, RefundRequest, RefundResult
from domain.booking import Booking
from domain.cancellation import RefundSplit
from domain.errors import IllegalTransition
from domain.tenant import ChargeModel, Tenant


async def issue_refund(
    gateway: PaymentGateway, tenant: Tenant, booking: Booking, split: RefundSplit, reason: str
) -> RefundResult:
    """Refund `split` of the booking's payment.

    Destination charges pull the tenant's share back from its transfer (reverse_transfer),
    so the platform's own balance never pays for it; the platform's fee comes back only as
    far as the split says. The idempotency key counts the booking's refunds, so a retry of
    the same refund reuses it and a concurrent second refund cannot pass as the first.
    """
    if booking.payment_intent_id is None:
        raise IllegalTransition(booking.id, booking.status, "refund without a payment")
    return await gateway.refund(
        RefundRequest(
            booking_id=booking.id,
            payment_intent_id=booking.payment_intent_id,
            amount=split.customer_refund,
            charge_model=tenant.charge_model,
            refund_application_fee=not split.application_fee_refund.is_zero,
            reverse_transfer=tenant.charge_model is ChargeModel.DESTINATION,
            idempotency_key=f"bookpay-refund-{booking.id}-{len(booking.refunds) + 1}",
            account_id=(
                tenant.connect.account_id if tenant.charge_model is ChargeModel.DIRECT else None
            ),
            reason=reason,
        )
    )
