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
from domain.errors import InvalidRefund, RefundExceedsPaid
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


def find_refund(refunds: Iterable[Refund], refund_id: str) -> Refund | None:
    """The refund known by this id: the gateway's, or the reservation's it settled."""
    return next((r for r in refunds if refund_id in (r.refund_id, r.reference)), None)


def require_refund_fits(split: RefundSplit, refundable: Money, fee_held: Money) -> None:
    """Refuse a refund that is not a positive amount in the payment's currency, that asks
    more than is still `refundable`, or more of the fee than the platform holds."""
    currency = refundable.currency
    if split.customer_refund.currency != currency:
        raise InvalidRefund(f"refund in {split.customer_refund.currency} for {currency}")
    if split.customer_refund.amount <= 0:
        raise InvalidRefund("a refund must be a positive amount")
    if split.customer_refund > refundable:
        raise RefundExceedsPaid(split.customer_refund.amount, refundable.amount, currency)
    if split.application_fee_refund > fee_held or split.application_fee_refund.is_negative:
        raise InvalidRefund("the fee refund exceeds the fee still held by the platform")


def settled(
    refunds: tuple[Refund, ...], reserved: Refund, reservation_id: str, refund_id: str
) -> tuple[Refund, ...]:
    """`refunds` with the reservation `reserved` settled as the gateway's `refund_id` (and
    still found by `reservation_id`); dropped when that refund is already recorded."""
    if find_refund(refunds, refund_id) is not None:  # already recorded under the gateway's id
        return tuple(r for r in refunds if r is not reserved)
    done = replace(reserved, refund_id=refund_id, pending=False, reference=reservation_id)
    return tuple(done if r is reserved else r for r in refunds)


def with_fee_reported(
    refunds: tuple[Refund, ...], refund: Refund, fee_refund: Money, fee: Money
) -> tuple[Refund, ...]:
    """`refunds` with the settled `refund` giving back `fee_refund` of the platform's `fee`
    (Refund.with_fee_refund), within what the other refunds left of it; the same tuple when
    unchanged."""
    others = refund_total(fee.currency, (r for r in refunds if r is not refund))
    reported = refund.with_fee_refund(fee_refund, fee - others.application_fee_refund)
    if reported is refund:
        return refunds
    return tuple(reported if r is refund else r for r in refunds)
