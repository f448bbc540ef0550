"""A fee quote: every number of a booking's price, and the policy that produced it (by
whose it is, its scope and its version), as domain/fees.py computes it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from domain.money import Money


class BearerKind(StrEnum):
    CUSTOMER = "customer"
    TENANT = "tenant"
    SPLIT = "split"


class FeePolicyScope(StrEnum):
    """TENANT: the platform's policy for all of a tenant's offerings.
    OFFERING: the platform's override for one offering."""

    TENANT = "tenant"
    OFFERING = "offering"


@dataclass(frozen=True, slots=True)
class FeePolicyRef:
    """Names one policy exactly: whose it is (`id`: the tenant's id for scope TENANT, the
    offering's id for scope OFFERING), which version, and its scope."""

    id: str
    version: int
    scope: FeePolicyScope


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """Every number of a booking's price, shown before checkout and stored with the booking.

    service_fee: the platform's whole fee; customer_fee: the part of it added on top of the
    price (the "Service fee" line); application_fee: what Stripe moves to the platform;
    tenant_receives = customer_total − application_fee.
    """

    subtotal: Money
    service_fee: Money
    customer_fee: Money
    customer_total: Money
    application_fee: Money
    tenant_receives: Money
    fee_bearer: BearerKind
    fee_policy_version: int
    seats: int
    unit_price: Money
    fee_policy_id: str = ""
    fee_policy_scope: FeePolicyScope = FeePolicyScope.TENANT

    @property
    def currency(self) -> str:
        return self.subtotal.currency

    @property
    def fee_policy(self) -> FeePolicyRef:
        """The policy that produced this quote."""
        return FeePolicyRef(self.fee_policy_id, self.fee_policy_version, self.fee_policy_scope)

    def named(self, policy: FeePolicyRef) -> FeeQuote:
        return replace(
            self,
            fee_policy_id=policy.id,
            fee_policy_version=policy.version,
            fee_policy_scope=policy.scope,
        )
