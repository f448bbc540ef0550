"""The shape of an event's check, in two steps: what it reads, then what it asks the gateway.

A check first reads what it needs (the booking and tenant the event names) in a reading
unit of work it is lent, and gives back its gateway step, which runs once that unit has
closed: no connection or transaction is held while the gateway is asked. Lending the unit
lets ApplyPaymentEvent look the event up in the inbox in the same unit, before any gateway
call (application/payment_events/bus.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from application.ports.gateway import PaymentGateway
from application.ports.gateway_events import PaymentEvent
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from domain.booking import Booking
from domain.tenant import Tenant

GatewayStep = Callable[[PaymentGateway, UnitOfWorkFactory], Awaitable[PaymentEvent]]
"""The event to apply, as the gateway's facts make it; run outside any unit of work. The
factory is for a read that depends on the gateway's answer (a unit of its own, closed before
the gateway is asked again). Raises Refuted, or the gateway's errors."""

Check = Callable[[Any, UnitOfWork], Awaitable[GatewayStep]]
"""Reads what the event's check needs in the open (reading) unit of work; its gateway step."""


def as_sent(event: PaymentEvent) -> GatewayStep:
    """A gateway step that asks nothing: the event is applied as sent."""

    async def unchanged(_gateway: PaymentGateway, _uow: UnitOfWorkFactory) -> PaymentEvent:
        return event

    return unchanged


async def paid_with(reading: UnitOfWork, payment_intent_id: str) -> tuple[Booking, Tenant] | None:
    """The booking paid with the payment, and its tenant; None when no booking is yet."""
    booking = await reading.bookings.find_by_payment_intent(payment_intent_id)
    tenant = None if booking is None else await reading.tenants.get(booking.tenant_id)
    return None if booking is None or tenant is None else (booking, tenant)
