"""Apply a verified gateway event exactly once.

The event id goes into the inbox in the same transaction as the event's effect: a
duplicate finds its id there and changes nothing; a failure rolls both back, so the
gateway's redelivery applies it once. Order is never trusted: each event is decided from
the booking's current state, and facts the booking already reflects are no-ops.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from application.dispute_recoveries import DisputeRecoveries
from application.errors import GatewayError
from application.holds import release_seats_if_hold_ended
from application.payments_made_elsewhere import catch_up, record_payment_made_elsewhere
from application.ports import (
    AccountUpdated,
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    ChargeRefunded,
    CheckoutCompleted,
    CheckoutExpired,
    Clock,
    DisputeEvent,
    PaymentAftermath,
    PaymentEvent,
    PaymentGateway,
    UnitOfWork,
)
from application.refunds import RefundFlow
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus, CancelledBy
from domain.cancellation import RefundSplit, tenant_cancellation_refund
from domain.dispute import DisputeBearer
from domain.errors import IllegalTransition
from domain.fees import RefundOnCancel
from domain.ledger import payment_entries

log = logging.getLogger("bookpay.payments")


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    # Kept until the payment it names is known (a refund reported before the completion).
    PARKED = "parked"


@dataclass(frozen=True, slots=True)
class EventApplied:
    outcome: Outcome
    booking_id: str | None = None
    detail: str = ""
    # A payment that must go back in full, sent once the event's transaction committed.
    refund_due: Booking | None = None
    # A booking with a lost dispute's recovery reserved, sent once the transaction committed.
    recovery_due: Booking | None = None


def _recovery_due(booking: Booking) -> Booking | None:
    pending = any(d.recovery is not None and d.recovery.pending for d in booking.disputes)
    return booking if pending else None


class ApplyPaymentEvent:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        clock: Clock,
        dispute_bearer: DisputeBearer = DisputeBearer.TENANT,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock
        self._bearer = dispute_bearer

    async def __call__(self, event: PaymentEvent) -> EventApplied:
        async with self._uow() as uow:
            if not await uow.webhook_inbox.record(event.event_id):
                return EventApplied(Outcome.DUPLICATE)
            result = await self._apply(uow, event)
            await uow.commit()
        if result.refund_due is not None:
            await self._refund_late_payment(result.refund_due)
        if result.recovery_due is not None:
            due = result.recovery_due
            await DisputeRecoveries(self._uow, self._gateway, self._clock)(due.tenant_id, due.id)
        return result

    async def _apply(self, uow: UnitOfWork, event: PaymentEvent) -> EventApplied:
        if isinstance(event, AccountUpdated):
            return await self._account_updated(uow, event)
        if isinstance(event, ChargeRefunded | DisputeEvent):
            return await self._aftermath(uow, event)
        session_id = getattr(event, "session_id", None)
        if session_id is None:
            return EventApplied(Outcome.IGNORED, detail=f"{type(event).__name__} not handled")
        booking = await uow.bookings.find_by_gateway_session(session_id)
        if booking is None:
            return EventApplied(Outcome.IGNORED, detail=f"no booking for session {session_id}")
        try:
            updated = await self._apply_to_booking(uow, booking, event)
        except IllegalTransition as stale:
            # A fact that contradicts a later state (e.g. "expired" after "paid"): the
            # booking already tells the truth; the event changes nothing.
            return EventApplied(Outcome.IGNORED, booking.id, str(stale))
        if updated is not booking:
            await uow.bookings.update(updated)
        refund_due = updated if updated.cancelled_by is CancelledBy.SYSTEM else None
        if refund_due is not None and refund_due is booking:
            refund_due = None
        return EventApplied(
            Outcome.APPLIED, booking.id, refund_due=refund_due, recovery_due=_recovery_due(updated)
        )

    async def _aftermath(self, uow: UnitOfWork, event: PaymentAftermath) -> EventApplied:
        payment = event.payment_intent_id
        if payment is None:
            return EventApplied(Outcome.IGNORED, detail="no payment named")
        booking = await uow.bookings.find_by_payment_intent(payment)
        if booking is None:
            # Its checkout's completion has not arrived yet: applied when it does (_paid).
            await uow.parked_events.park(payment, event)
            return EventApplied(Outcome.PARKED, detail=f"no booking is paid with {payment} yet")
        updated, changed = await record_payment_made_elsewhere(uow, booking, event, self._bearer)
        return EventApplied(
            Outcome.APPLIED if changed else Outcome.IGNORED,
            booking.id,
            recovery_due=_recovery_due(updated) if changed else None,
        )

    async def _apply_to_booking(
        self, uow: UnitOfWork, booking: Booking, event: PaymentEvent
    ) -> Booking:
        if isinstance(event, CheckoutCompleted):
            if not event.paid:
                return booking.await_async_payment()
            return await self._paid(uow, booking, event.payment_intent_id or event.session_id)
        if isinstance(event, AsyncPaymentSucceeded):
            return await self._paid(uow, booking, event.payment_intent_id or event.session_id)
        if isinstance(event, AsyncPaymentFailed):
            return await release_seats_if_hold_ended(uow, booking, booking.fail_payment())
        if isinstance(event, CheckoutExpired):
            return await release_seats_if_hold_ended(uow, booking, booking.expire())
        return booking

    async def _paid(self, uow: UnitOfWork, booking: Booking, payment_ref: str) -> Booking:
        if booking.is_paid:
            return booking
        if booking.status is BookingStatus.EXPIRED:
            if not await uow.slots.try_book(booking.tenant_id, booking.slot_id, booking.seats):
                return await self._take_late_payment(uow, booking, payment_ref)
        elif booking.status is not BookingStatus.PAYMENT_FAILED:
            await uow.slots.confirm_hold(booking.tenant_id, booking.slot_id, booking.seats)
        confirmed = booking.confirm(payment_ref)
        await uow.ledger.add_all(payment_entries(confirmed, payment_ref, self._clock.now()))
        return await catch_up(uow, confirmed, self._bearer)

    async def _take_late_payment(
        self, uow: UnitOfWork, booking: Booking, payment_ref: str
    ) -> Booking:
        """Paid after the hold lapsed and the seats were sold again: the money goes back.

        The booking is recorded as paid and cancelled by the system here; the refund itself
        is sent after this transaction commits, never while it holds the database.
        """
        paid = booking.confirm(payment_ref)
        await uow.ledger.add_all(payment_entries(paid, payment_ref, self._clock.now()))
        paid = await catch_up(uow, paid, self._bearer)
        return paid.cancel(
            CancelledBy.SYSTEM, "paid after the hold lapsed and the seats were no longer free"
        )

    async def _refund_late_payment(self, booking: Booking) -> None:
        async def everything_back(uow: UnitOfWork, current: Booking) -> RefundSplit:
            return tenant_cancellation_refund(
                current.quote, RefundOnCancel.PROPORTIONAL, current.refunded
            )

        # Reserved before it is sent (application/refunds.py), so the refund's own
        # charge.refunded event, which may arrive first, does not count it twice.
        try:
            await RefundFlow(self._uow, self._gateway, self._clock)(
                booking.tenant_id, booking.id, everything_back, "paid after the hold lapsed"
            )
        except GatewayError:
            log.exception(
                "booking %s was paid late with no seats left; its refund failed and is left "
                "for reconciliation",
                booking.id,
            )
            return
        log.warning("booking %s paid late with no seats left: refunded in full", booking.id)

    async def _account_updated(self, uow: UnitOfWork, event: AccountUpdated) -> EventApplied:
        account_id = event.status.account_id or event.account_id
        if account_id is None:
            return EventApplied(Outcome.IGNORED, detail="account event without an account")
        tenant = await uow.tenants.find_by_account_id(account_id)
        if tenant is None:
            return EventApplied(Outcome.IGNORED, detail=f"no tenant for account {account_id}")
        if tenant.connect != event.status:
            await uow.tenants.update(tenant.with_connect_status(event.status))
        return EventApplied(Outcome.APPLIED)
