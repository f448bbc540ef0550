"""Disputes (chargebacks) a customer opened with their bank against a booking's payment.

A dispute is known from the gateway's snapshots of it (created, updated, closed, funds
withdrawn or reinstated). Stripe keeps no order, so a snapshot older than the one
applied changes nothing, and a closed dispute (`won`, `lost`, `warning_closed`) never
opens again. While Stripe says the charge is not refundable (`is_charge_refundable`), the
booking refuses refunds and cancellations: Stripe would refuse the refund, and otherwise
the customer would be paid twice (refund + chargeback).

Who bears a lost dispute follows the charge model: a direct charge lives on the tenant's
account, so the tenant's balance is debited; a destination charge lives on the platform,
which recovers the amount from the tenant with a transfer reversal unless the platform's
`dispute_bearer` setting is `platform`. That recovery converges like a refund: reserved
under an idempotency key derived from the dispute, unknown until the gateway answered,
and re-sent with the same key until it did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from domain.clock import as_utc
from domain.errors import DisputeOpen, DomainError
from domain.money import Money
from domain.tenant import ChargeModel

__all__ = [
    "CLOSED",
    "Dispute",
    "DisputeBearer",
    "DisputeOpen",
    "DisputeSnapshot",
    "DisputeStatus",
    "Party",
    "Recovery",
    "dispute_debits",
    "recovered_from_tenant",
]


class DisputeStatus(StrEnum):
    """Stripe's dispute statuses."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"


CLOSED = frozenset({DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.WARNING_CLOSED})


class DisputeBearer(StrEnum):
    """Who bears a lost dispute of a destination charge (the platform's setting)."""

    TENANT = "tenant"
    PLATFORM = "platform"


class Party(StrEnum):
    """Whose balance a dispute's money moved on."""

    TENANT = "tenant"
    PLATFORM = "platform"


def dispute_debits(charge_model: ChargeModel) -> Party:
    """Whose balance Stripe debits when a dispute withdraws funds: the charge's owner."""
    return Party.TENANT if charge_model is ChargeModel.DIRECT else Party.PLATFORM


def recovered_from_tenant(charge_model: ChargeModel, bearer: DisputeBearer) -> bool:
    """Whether a lost dispute of this charge model is recovered from the tenant by the
    platform (a transfer reversal): destination charges, unless the platform bears it."""
    return charge_model is ChargeModel.DESTINATION and bearer is DisputeBearer.TENANT


@dataclass(frozen=True, slots=True)
class Recovery:
    """A lost dispute's amount taken back from the tenant's transfer.

    `reference` is Bookpay's id of it and the idempotency key it is sent with;
    `reversal_id` is the gateway's transfer reversal, None while the outcome is unknown.
    """

    reference: str
    amount: Money
    reversal_id: str | None = None

    @property
    def pending(self) -> bool:
        return self.reversal_id is None


@dataclass(frozen=True, slots=True)
class DisputeSnapshot:
    """What one gateway event says about a dispute, as of `as_of` (the event's time)."""

    dispute_id: str
    amount: Money
    reason: str
    status: DisputeStatus
    is_charge_refundable: bool
    opened_at: datetime
    as_of: datetime


@dataclass(frozen=True, slots=True)
class Dispute:
    """One dispute of a booking's payment, recorded once by the gateway's dispute id."""

    tenant_id: str
    booking_id: str
    dispute_id: str
    amount: Money
    reason: str
    created_at: datetime  # when the customer opened it (Stripe's `created`)
    status: DisputeStatus = DisputeStatus.NEEDS_RESPONSE
    is_charge_refundable: bool = False
    closed_at: datetime | None = None
    # The time of the newest snapshot applied; an older one changes nothing.
    as_of: datetime | None = None
    recovery: Recovery | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", as_utc(self.created_at))
        if self.closed_at is not None:
            object.__setattr__(self, "closed_at", as_utc(self.closed_at))
        if self.as_of is not None:
            object.__setattr__(self, "as_of", as_utc(self.as_of))

    @classmethod
    def opened(cls, tenant_id: str, booking_id: str, snapshot: DisputeSnapshot) -> Dispute:
        first = cls(
            tenant_id=tenant_id,
            booking_id=booking_id,
            dispute_id=snapshot.dispute_id,
            amount=snapshot.amount,
            reason=snapshot.reason,
            created_at=snapshot.opened_at,
        )
        return first.updated(snapshot)

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED

    @property
    def is_open(self) -> bool:
        return not self.is_closed

    @property
    def is_lost(self) -> bool:
        return self.status is DisputeStatus.LOST

    @property
    def blocks_refunds(self) -> bool:
        """Stripe says the charge cannot be refunded while this dispute stands."""
        return not self.is_charge_refundable

    def updated(self, snapshot: DisputeSnapshot) -> Dispute:
        """Apply a newer snapshot; an older one, or one reopening a closed dispute, is
        ignored (the same object comes back)."""
        if snapshot.dispute_id != self.dispute_id:
            raise DomainError(f"snapshot of {snapshot.dispute_id} applied to {self.dispute_id}")
        as_of = as_utc(snapshot.as_of)
        if self.as_of is not None and as_of < self.as_of:
            return self
        if self.is_closed and snapshot.status not in CLOSED:
            return self
        if self.is_closed and snapshot.status is not self.status:
            return self  # a final outcome is final
        closed_at = self.closed_at
        if snapshot.status in CLOSED and closed_at is None:
            closed_at = as_of
        changed = replace(
            self,
            amount=snapshot.amount,
            reason=snapshot.reason or self.reason,
            status=snapshot.status,
            is_charge_refundable=snapshot.is_charge_refundable,
            closed_at=closed_at,
            as_of=as_of,
        )
        return self if changed == self else changed

    def tells_the_same(self, other: Dispute) -> bool:
        """Whether `other` says what this one says, whatever the time of its snapshot."""
        return replace(other, as_of=self.as_of) == self

    def recovery_due(
        self, charge_model: ChargeModel, bearer: DisputeBearer, transfer_left: Money
    ) -> Dispute:
        """Reserve the recovery of a lost destination-charge dispute from the tenant.

        The amount is the dispute's, never more than is left of the tenant's transfer.
        Nothing to do (the same object) when the dispute is not lost, the tenant does not
        bear it, a recovery is already reserved, or nothing is left to take back.
        """
        if not self.is_lost or self.recovery is not None:
            return self
        if not recovered_from_tenant(charge_model, bearer):
            return self
        amount = min(self.amount, transfer_left)
        if amount.amount <= 0:
            return self
        reference = f"bookpay-dispute-{self.dispute_id}"
        return replace(self, recovery=Recovery(reference, amount))

    def recovered(self, reversal_id: str) -> Dispute:
        """The gateway made the reserved recovery (idempotent)."""
        if self.recovery is None:
            raise DomainError(f"dispute {self.dispute_id} has no recovery reserved")
        if self.recovery.reversal_id == reversal_id:
            return self
        return replace(self, recovery=replace(self.recovery, reversal_id=reversal_id))


def with_dispute(disputes: tuple[Dispute, ...], dispute: Dispute) -> tuple[Dispute, ...]:
    """`disputes` with `dispute` added or replacing the one of its id, kept in the order the
    customers opened them; the same tuple when `dispute` is already there."""
    known = next((d for d in disputes if d.dispute_id == dispute.dispute_id), None)
    if known is dispute:
        return disputes
    if known is None:
        return tuple(sorted((*disputes, dispute), key=lambda d: (d.created_at, d.dispute_id)))
    return tuple(dispute if d is known else d for d in disputes)
