"""Terms of sale: what a booking was sold under, frozen on it for life.

A booking keeps the cancellation policy, the fee refund mode (`refund_on_cancel`) and the
identity of the fee policy that priced it, as they were when it was sold. Cancels and
refunds read them from the booking; later edits to the offering or the fee policy apply
to new bookings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.cancellation import (
    CancellationPolicy,
    RefundSplit,
    customer_cancellation_refund,
    tenant_cancellation_refund,
)
from domain.fee_quote import FeePolicyRef, FeeQuote
from domain.fees import RefundOnCancel


@dataclass(frozen=True, slots=True)
class Terms:
    """The terms a booking was sold under.

    `cancellation_policy` None: the customer may cancel up to the start with a full refund.
    """

    cancellation_policy: CancellationPolicy | None
    refund_on_cancel: RefundOnCancel
    fee_policy: FeePolicyRef

    def customer_refund(
        self, quote: FeeQuote, starts_at: datetime, cancelled_at: datetime, already: RefundSplit
    ) -> RefundSplit:
        """What a customer cancelling at `cancelled_at` gets back, less earlier refunds.

        Raises CancellationWindowClosed outside every window of the policy.
        """
        policy = self.cancellation_policy or CancellationPolicy()
        percent = policy.refund_percent(starts_at, cancelled_at)
        return customer_cancellation_refund(quote, percent, self.refund_on_cancel, already)

    def tenant_refund(self, quote: FeeQuote, already: RefundSplit) -> RefundSplit:
        """A tenant's cancellation: everything the customer paid that is not back yet."""
        return tenant_cancellation_refund(quote, self.refund_on_cancel, already)
