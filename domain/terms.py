"""Terms of sale: what a booking was sold under, frozen on it for life.

A booking keeps the cancellation policy, the fee refund mode (`refund_on_cancel`) and the
identity of the fee policy that priced it, as they were when it was sold. Cancels and
refunds read them from the booking; later edits to the offering or the fee policy apply
to new bookings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.cancellation import (
    CancellationPolicy,
    RefundSplit,
    customer_cancellation_refund,
    tenant_cancellation_refund,
)
from domain.fees import FeeQuote, RefundOnCancel
from domain.offering import Offering


class FeePolicyScope(StrEnum):
    """Where the fee policy that priced a sale was set: for the whole tenant, or for one
    of its offerings."""

    TENANT = "tenant"
    OFFERING = "offering"


def fee_policy_scope(offering: Offering) -> FeePolicyScope:
    """Which fee policy prices a sale of `offering`: its own when it has one."""
    return FeePolicyScope.TENANT if offering.fee_policy is None else FeePolicyScope.OFFERING


@dataclass(frozen=True, slots=True)
class FeePolicyIdentity:
    """Which fee policy priced a sale: `id` names the policy (the tenant's, or one
    offering's), `version` the version of it in force at the sale."""

    id: str
    version: int
    scope: FeePolicyScope

    @classmethod
    def of(
        cls, scope: FeePolicyScope, tenant_id: str, offering_id: str, version: int
    ) -> FeePolicyIdentity:
        """The identity of a tenant's policy (`fp_<tenant id>`) or of an offering's own
        (`fp_<tenant id>_<offering id>`), at `version`."""
        owner = tenant_id if scope is FeePolicyScope.TENANT else f"{tenant_id}_{offering_id}"
        return cls(f"fp_{owner}", version, scope)


@dataclass(frozen=True, slots=True)
class Terms:
    """The terms a booking was sold under.

    `cancellation_policy` None: the customer may cancel up to the start with a full refund.
    """

    cancellation_policy: CancellationPolicy | None
    refund_on_cancel: RefundOnCancel
    fee_policy: FeePolicyIdentity

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
