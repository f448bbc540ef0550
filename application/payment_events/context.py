"""What every handler of a gateway event is given, and the shape of a handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from application.payment_events.outcome import EventApplied
from application.ports.gateway_events import PaymentEvent
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import UnitOfWork
from domain.dispute import DisputeBearer


@dataclass(frozen=True, slots=True)
class EventContext:
    """The open unit of work the event's effect is written in (with its inbox entry)."""

    uow: UnitOfWork
    clock: Clock
    # Who bears a lost dispute of a destination charge (the platform's setting).
    dispute_bearer: DisputeBearer = DisputeBearer.TENANT


E_contra = TypeVar("E_contra", bound=PaymentEvent, contravariant=True)

Handler = Callable[[EventContext, E_contra], Awaitable[EventApplied]]
