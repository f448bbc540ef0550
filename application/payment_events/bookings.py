"""Carry out the domain's decision about a booking a checkout session event names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied, Outcome
from application.ports.unit_of_work import UnitOfWork
from domain.booking import Booking
from domain.errors import IllegalTransition
from domain.events import booking_events
from domain.payment import Decision, SeatMove

Decide = Callable[[EventContext, Booking], Awaitable[Decision]]


async def apply_to_session_booking(
    ctx: EventContext, session_id: str, decide: Decide
) -> EventApplied:
    """Find the booking checked out with the session, let `decide` work out the change,
    save it. A fact that contradicts a later state (e.g. "expired" after "paid") changes
    nothing: the booking already tells the truth. Either way, or when the booking already
    shows the fact (a second "awaiting payment"), the event is `ignored`, with why."""
    booking = await ctx.uow.bookings.find_by_gateway_session(session_id)
    if booking is None:
        return EventApplied(Outcome.IGNORED, detail=f"no booking for session {session_id}")
    try:
        decision = await decide(ctx, booking)
    except IllegalTransition as stale:
        return EventApplied(Outcome.IGNORED, booking.id, str(stale), booking.tenant_id)
    if not decision.changed:
        return EventApplied(
            Outcome.IGNORED,
            booking.id,
            f"no change: booking {booking.id} is already {booking.status}",
            booking.tenant_id,
        )
    await ctx.uow.bookings.update(decision.booking)
    ctx.uow.outbox.add(*booking_events(booking, decision.booking))
    return EventApplied(
        Outcome.APPLIED, booking.id, tenant_id=booking.tenant_id, follow_up=decision.follow_up
    )


async def move_seats(uow: UnitOfWork, decision: Decision) -> bool:
    """Move the booking's seats as decided, atomically; False when they no longer fit."""
    booking = decision.before
    where = (booking.tenant_id, booking.slot_id, booking.seats)
    if decision.seats is SeatMove.CONFIRM_HOLD:
        await uow.slots.confirm_hold(*where)
    elif decision.seats is SeatMove.RELEASE_HOLD:
        await uow.slots.release_hold(*where)
    elif decision.seats is SeatMove.BOOK_AGAIN:
        return await uow.slots.try_book(*where)
    return True


async def carry_out(uow: UnitOfWork, decision: Decision) -> Decision:
    """A decision that only moves seats (a delay, a failure, an expiry)."""
    if decision.changed:
        await move_seats(uow, decision)
    return decision
