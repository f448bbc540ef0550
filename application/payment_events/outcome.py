"""What applying a gateway event came to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.payment import FollowUp


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    # Kept until the payment it names is known (a refund reported before the completion).
    PARKED = "parked"
    # Kept, verified, to be applied by the webhook queue's worker (BOOKPAY_WEBHOOK_MODE=queue).
    QUEUED = "queued"


@dataclass(frozen=True, slots=True)
class EventApplied:
    outcome: Outcome
    booking_id: str | None = None
    detail: str = ""
    tenant_id: str | None = None
    # Done once the event's transaction committed, never while it holds the database.
    follow_up: FollowUp = FollowUp.NONE
    # The disputes its follow-up took back from the tenant (lost ones it bears).
    recovered: tuple[str, ...] = ()
