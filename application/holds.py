"""Seats follow the booking: a transition that ends a hold gives the held seats back, and
a cancellation the booked ones.

A hold ends before it is paid in three ways: it lapses (the sweeper), its delayed payment
misses its deadline (the sweeper too), or the customer or the tenant abandons it. Each time
the gateway session is expired first, so the customer can no longer pay; only then are
the seats released. If the gateway says the session completed meanwhile, that completion
is applied instead and the hold does not end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from application.errors import GatewayError, GatewayUnavailable
from application.ports.gateway import CheckoutSession, PaymentGateway, PaymentStatus, SessionStatus
from application.ports.gateway_events import CheckoutCompleted
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus, CancelledBy, SeatState
from domain.events import booking_events

if TYPE_CHECKING:
    from application.payment_events import ApplyPaymentEvent


async def release_seats_if_hold_ended(uow: UnitOfWork, before: Booking, after: Booking) -> Booking:
    """`after` is `before` after a transition (expired, payment failed). When it moved the
    booking's seats from held to released, they go back on sale in the same transaction."""
    if before.seat_state is SeatState.HELD and after.seat_state is SeatState.RELEASED:
        await uow.slots.release_hold(before.tenant_id, before.slot_id, before.seats)
    return after


async def cancel_and_free_seats(
    uow: UnitOfWork, booking: Booking, by: CancelledBy, reason: str | None
) -> Booking:
    """Cancel a paid booking and give its seats back to the slot, once."""
    cancelled = booking.cancel(by, reason)
    if cancelled.status is not booking.status:
        await uow.slots.release_booked(booking.tenant_id, booking.slot_id, booking.seats)
    return cancelled


# The transition that ends the hold: Booking.expire (lapsed) or Booking.abandon.
Ending = Callable[[Booking], Booking]


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    """`booking` as it is now; `completed` when the gateway said it was paid meanwhile."""

    booking: Booking | None
    completed: bool = False


class EndHold:
    """End one booking's hold: expire its gateway session, then release its seats.

    Raises GatewayError when the gateway can neither expire nor describe the session (the
    hold stays, nothing moved), and ConcurrentUpdate when the booking changed meanwhile.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        apply_event: ApplyPaymentEvent,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._apply = apply_event
        self._clock = clock

    async def __call__(
        self, booking: Booking, account_id: str | None, ending: Ending
    ) -> HoldOutcome:
        if booking.gateway_session_id is not None:
            session = await self._expire_session(booking.gateway_session_id, account_id)
            paid = session.payment_status is not PaymentStatus.UNPAID
            if session.status is SessionStatus.COMPLETE and (
                booking.status is BookingStatus.PENDING_PAYMENT or paid
            ):
                # Completed (or, for a delayed method, paid) meanwhile: record that instead.
                await self._apply(
                    CheckoutCompleted(
                        event_id=f"sweep:{session.session_id}:{session.payment_status.value}",
                        created_at=self._clock.now(),
                        account_id=account_id,
                        session_id=session.session_id,
                        booking_id=booking.id,
                        paid=paid,
                        payment_intent_id=session.payment_intent_id,
                        amount_total=session.amount_total,
                    )
                )
                async with self._uow() as uow:
                    current = await uow.bookings.get(booking.tenant_id, booking.id)
                return HoldOutcome(current, completed=True)
        async with self._uow() as uow:
            current = await uow.bookings.get(booking.tenant_id, booking.id)
            if current is not None and current.status is booking.status:
                ended = await release_seats_if_hold_ended(uow, current, ending(current))
                if ended is not current:
                    await uow.bookings.update(ended)
                    uow.outbox.add(*booking_events(current, ended))
                    await uow.commit()
                current = ended
        return HoldOutcome(current)

    async def _expire_session(self, session_id: str, account_id: str | None) -> CheckoutSession:
        """The session, expired or finished: never one the customer can still pay.

        Raises GatewayUnavailable when the session could not be expired and is still open
        (the hold must stay until it is), or when the gateway cannot be asked at all.
        """
        try:
            return await self._gateway.expire_checkout_session(session_id, account_id=account_id)
        except GatewayError as refused:
            # Stripe refuses to expire a session that is no longer open: ask what it is.
            session = await self._gateway.retrieve_checkout_session(
                session_id, account_id=account_id
            )
            if session.status is SessionStatus.OPEN:
                raise GatewayUnavailable(
                    f"checkout session {session_id} could not be expired and can still be "
                    f"paid; the hold stays ({refused})"
                ) from refused
            return session
