"""One refund of a booking's payment, and who cancelled a booking.

Amounts are Money in minor units. A refund's split says what went back to the customer and
how much of it came out of the platform's application fee (Stripe's `refund_application_fee`
refunds the fee in proportion; a reported fee refund replaces the policy's share).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from domain.cancellation import RefundSplit
from domain.money import Money


class CancelledBy(StrEnum):
    CUSTOMER = "customer"
    TENANT = "tenant"
    SYSTEM = "system"  # e.g. a payment that arrived after its seats were sold again


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund of a booking's payment, as recorded with the gateway.

    A pending refund is reserved before the gateway is asked, under Bookpay's own id (also
    its idempotency key), so that concurrent refunds cannot together pass what was paid.
    Until the gateway confirms it, its outcome is *unknown*: it holds its money back from
    other refunds, but it is not refunded money. It is settled under the gateway's refund
    id once the gateway confirmed it, or released when the gateway refused it.

    `reason` is what the gateway was told (a re-send must repeat the request exactly);
    `cancels` says the refund was reserved for a cancellation by that party, so whoever
    settles it (a retry, another request, reconciliation) cancels the booking too;
    `reference` is the reservation id a settled refund was reserved under, so a retry of
    the request that reserved it finds it.
    """

    refund_id: str
    split: RefundSplit
    pending: bool = False
    reason: str | None = None
    cancels: CancelledBy | None = None
    reference: str | None = None

    def with_fee_refund(self, fee_refund: Money, fee_held: Money) -> Refund:
        """This settled refund as giving back `fee_refund` of the platform's fee (what the
        gateway reports, Stripe's rounding), kept within the refund and `fee_held` (the fee
        the platform still holds besides this refund). The same object when unchanged."""
        zero = Money.zero(fee_refund.currency)
        kept = max(min(fee_refund, self.split.customer_refund, fee_held), zero)
        if kept == self.split.application_fee_refund:
            return self
        return replace(self, split=RefundSplit(self.split.customer_refund, kept))


def refund_total(currency: str, refunds: Iterable[Refund]) -> RefundSplit:
    """The sum of the refunds' splits, in `currency` (nothing when there are none)."""
    total = RefundSplit.nothing(currency)
    for refund in refunds:
        total = total + refund.split
    return total
