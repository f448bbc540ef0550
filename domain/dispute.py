"""Disputes (chargebacks) a customer opened with their bank against a booking's payment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.clock import as_utc
from domain.money import Money


@dataclass(frozen=True, slots=True)
class Dispute:
    """One dispute, recorded once by the gateway's dispute id."""

    tenant_id: str
    booking_id: str
    dispute_id: str
    amount: Money
    reason: str
    created_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", as_utc(self.created_at))
