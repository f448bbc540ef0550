"""Seats follow the booking: a transition that ends a hold gives the held seats back."""

from __future__ import annotations

from application.ports import UnitOfWork
from domain.booking import Booking, SeatState


async def release_seats_if_hold_ended(uow: UnitOfWork, before: Booking, after: Booking) -> Booking:
    """`after` is `before` after a transition (expired, payment failed). When it moved the
    booking's seats from held to released, they go back on sale in the same transaction."""
    if before.seat_state is SeatState.HELD and after.seat_state is SeatState.RELEASED:
        await uow.slots.release_hold(before.tenant_id, before.slot_id, before.seats)
    return after
