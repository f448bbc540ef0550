"""The in-memory tables: one consistent state of every table of the database."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from application.ports.gateway_events import PaymentAftermath
from application.ports.unit_of_work import ReceivedEvent, StoredResponse
from domain.booking import (
    Booking,
)
from domain.fee_quote import FeePolicyScope
from domain.fees import FeePolicy
from domain.ledger import EntryKind, LedgerEntry
from domain.offering import Offering, Slot
from domain.tenant import Tenant


@dataclass(frozen=True, slots=True)
class ApiKey:
    tenant_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    fingerprint: str
    claimed_at: datetime
    response: StoredResponse | None = None


@dataclass(frozen=True, slots=True)
class QueuedRow:
    """A received event waiting in the queue, with its schedule and claim."""

    event: ReceivedEvent
    next_attempt_at: datetime
    claimed_until: datetime | None = None
    last_error: str | None = None


@dataclass(slots=True)
class Tables:
    """One consistent state of every table. Values are immutable, so copies are shallow."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    fee_policies: dict[tuple[str, int], FeePolicy] = field(default_factory=dict)
    # (tenant, offering, version) → the override, None where one was ended.
    fee_policy_overrides: dict[tuple[str, str, int], FeePolicy | None] = field(default_factory=dict)
    offerings: dict[tuple[str, str], Offering] = field(default_factory=dict)
    slots: dict[tuple[str, str], Slot] = field(default_factory=dict)
    bookings: dict[tuple[str, str], tuple[Booking, int]] = field(default_factory=dict)
    ledger: dict[tuple[str, str, EntryKind], LedgerEntry] = field(default_factory=dict)
    inbox: set[str] = field(default_factory=set)
    received: dict[str, QueuedRow] = field(default_factory=dict)
    parked: dict[str, tuple[str, PaymentAftermath]] = field(default_factory=dict)
    sweep_claims: dict[tuple[str, str], datetime] = field(default_factory=dict)
    claims: dict[tuple[str, str], Claim] = field(default_factory=dict)

    def tenant_policy(self, tenant_id: str) -> FeePolicy | None:
        versions = [v for (t, v) in self.fee_policies if t == tenant_id]
        if not versions:
            return None
        return self.fee_policies[tenant_id, max(versions)].owned_by(
            tenant_id, FeePolicyScope.TENANT
        )

    def with_override(self, offering: Offering | None) -> Offering | None:
        """The stored offering as a repository returns it: with its current override."""
        if offering is None:
            return None
        versions = [
            v
            for (t, o, v) in self.fee_policy_overrides
            if (t, o) == (offering.tenant_id, offering.id)
        ]
        policy = (
            self.fee_policy_overrides[offering.tenant_id, offering.id, max(versions)]
            if versions
            else None
        )
        if policy is not None:
            policy = policy.owned_by(offering.id, FeePolicyScope.OFFERING)
        return replace(offering, fee_policy=policy)

    def copy(self) -> Tables:
        return Tables(
            tenants=dict(self.tenants),
            api_keys=dict(self.api_keys),
            fee_policies=dict(self.fee_policies),
            fee_policy_overrides=dict(self.fee_policy_overrides),
            offerings=dict(self.offerings),
            slots=dict(self.slots),
            bookings=dict(self.bookings),
            ledger=dict(self.ledger),
            inbox=set(self.inbox),
            received=dict(self.received),
            parked=dict(self.parked),
            sweep_claims=dict(self.sweep_claims),
            claims=dict(self.claims),
        )
