"""Refunds and disputes made outside Bookpay (e.g. in Stripe's dashboard), recorded once."""

from __future__ import annotations

from application.ports import ChargeRefunded, DisputeCreated, UnitOfWork


async def record_payment_made_elsewhere(
    uow: UnitOfWork, event: ChargeRefunded | DisputeCreated
) -> str | None:
    """Record what the event tells; the booking id it touched, or None when it changes nothing."""
    return None
