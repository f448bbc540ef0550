"""The `data` of each event out: the tenant's view of its subject, as the tenant routes
show it (a booking with its ledger and disputes, a slot, the Connect state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from domain.booking import Booking
from domain.events import Event
from domain.ledger import LedgerEntry
from domain.offering import Slot
from entrypoints.http import mapping as m
from entrypoints.http.events_out_schemas import TenantAccount


class TenantViewPayloads:
    """The EventPayloads port (application/ports/events_out.py)."""

    def render(self, event: Event, ledger: Sequence[LedgerEntry]) -> dict[str, Any]:
        subject = event.subject
        view: msgspec.Struct
        if isinstance(subject, Booking):
            view = m.tenant_booking_out(subject, list(ledger))
        elif isinstance(subject, Slot):
            view = m.slot_out(subject)
        else:
            view = TenantAccount(
                tenant_id=subject.id,
                can_sell=subject.can_sell,
                connect=m.connect_out(subject.connect),
            )
        rendered: dict[str, Any] = msgspec.to_builtins(view)
        return rendered
