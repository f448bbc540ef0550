"""Apply a verified gateway event exactly once, by the handler its type names.

The event id goes into the inbox in the same transaction as the event's effect: a
duplicate finds its id there and changes nothing; a failure rolls both back, so the
gateway's redelivery applies it once. An event checked with the gateway is first looked up
in the inbox, in the unit of work its check reads in: a redelivery of one recorded before
is answered `duplicate` without asking the gateway. That lookup is only a shortcut (two
deliveries racing both miss it); the inbox record decides. Order is never trusted: each
handler decides from the current state of what the event names, and facts already
reflected are no-ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from application.payment_events.account_facts import checked_account
from application.payment_events.account_updated import account_updated
from application.payment_events.aftermath_facts import checked_dispute, checked_refund
from application.payment_events.application_fee_refunded import application_fee_refunded
from application.payment_events.async_payment_failed import async_payment_failed
from application.payment_events.async_payment_succeeded import async_payment_succeeded
from application.payment_events.charge_refunded import charge_refunded
from application.payment_events.checkout_completed import checkout_completed
from application.payment_events.checkout_expired import checkout_session_expired
from application.payment_events.checks import Check, GatewayStep
from application.payment_events.context import EventContext, Handler
from application.payment_events.dispute_closed import dispute_closed
from application.payment_events.dispute_created import dispute_created
from application.payment_events.dispute_funds_reinstated import dispute_funds_reinstated
from application.payment_events.dispute_funds_withdrawn import dispute_funds_withdrawn
from application.payment_events.dispute_updated import dispute_updated
from application.payment_events.fee_facts import with_fee_payment
from application.payment_events.follow_ups import recover_lost_disputes, refund_in_full
from application.payment_events.outcome import EventApplied, Outcome
from application.payment_events.parked import apply_parked
from application.payment_events.session_facts import Refuted, checked_session_event
from application.ports.gateway import PaymentGateway
from application.ports.gateway_events import (
    AccountUpdated,
    ApplicationFeeRefunded,
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    ChargeRefunded,
    CheckoutCompleted,
    CheckoutExpired,
    CheckoutSessionEvent,
    DisputeClosed,
    DisputeCreated,
    DisputeFundsReinstated,
    DisputeFundsWithdrawn,
    DisputeUpdated,
    PaymentEvent,
)
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from domain.dispute import DisputeBearer
from domain.payment import FollowUp, dated_ahead, dated_on_arrival

HANDLERS: Mapping[type[PaymentEvent], Handler[Any]] = {
    CheckoutCompleted: checkout_completed,
    AsyncPaymentSucceeded: async_payment_succeeded,
    AsyncPaymentFailed: async_payment_failed,
    CheckoutExpired: checkout_session_expired,
    ChargeRefunded: charge_refunded,
    ApplicationFeeRefunded: application_fee_refunded,
    DisputeCreated: dispute_created,
    DisputeUpdated: dispute_updated,
    DisputeClosed: dispute_closed,
    DisputeFundsWithdrawn: dispute_funds_withdrawn,
    DisputeFundsReinstated: dispute_funds_reinstated,
    AccountUpdated: account_updated,
}

# Checks made before an event is applied, outside its transaction: each reads in a unit of
# work it is lent, then asks the gateway once that unit has closed
# (application/payment_events/checks.py), and gives the event to apply, which may be
# another one (the gateway's own account of it).
# Events that pay a booking: the refunds and disputes parked for their payment follow them.
PAYMENTS = (CheckoutCompleted, AsyncPaymentSucceeded)

CHECKS: Mapping[type[PaymentEvent], Check] = {
    AccountUpdated: checked_account,
    CheckoutCompleted: checked_session_event,
    AsyncPaymentSucceeded: checked_session_event,
    AsyncPaymentFailed: checked_session_event,
    CheckoutExpired: checked_session_event,
    ChargeRefunded: checked_refund,
    ApplicationFeeRefunded: with_fee_payment,
    DisputeCreated: checked_dispute,
    DisputeUpdated: checked_dispute,
    DisputeClosed: checked_dispute,
    DisputeFundsWithdrawn: checked_dispute,
    DisputeFundsReinstated: checked_dispute,
}


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
        """`duplicate` when the event id is recorded already (an event handled or parked
        before; answered without asking the gateway); `ignored` for a type without a
        handler, one its facts refute, or one dated ahead of the clock (a snapshot that
        would outrank every later report: domain.payment.dated_ahead). GatewayUnavailable
        when a check could not ask the gateway (nothing applied: retry). Gateway errors of
        a follow-up are logged and left to reconciliation.

        A payment's success is followed by the refunds and disputes parked for it, each
        checked like a direct event (application/payment_events/parked.py), also after a
        duplicate of it: a crash may have come between its commit and the drain."""
        now = self._clock.now()
        ahead = dated_ahead(event.created_at, now)
        if ahead is not None:
            return EventApplied(Outcome.IGNORED, detail=ahead)
        arrived = dated_on_arrival(event.created_at, now)
        if arrived != event.created_at:
            event = replace(event, created_at=arrived)
        check = CHECKS.get(type(event))
        if check is not None:
            step = await self._read_unless_recorded(event, check)
            if step is None:
                return EventApplied(Outcome.DUPLICATE)
            try:
                event = await step(self._gateway, self._uow)
            except Refuted as refuted:
                return EventApplied(Outcome.IGNORED, detail=str(refuted))
        return await self._recorded_and_applied(event)

    async def apply_parked(self, payment_intent_id: str) -> list[EventApplied]:
        """Check and apply the events parked for the payment once a booking is paid with
        it, with their follow-ups; what each came to (application/payment_events/parked.py).
        A parked event is in the inbox already: it is checked with the gateway all the same."""
        applied = await apply_parked(payment_intent_id, self._uow, self._checked, self._handled)
        return [await self._follow_up(one) for one in applied]

    async def _read_unless_recorded(self, event: PaymentEvent, check: Check) -> GatewayStep | None:
        """The check's gateway step, read in the unit the inbox is looked up in; None when
        the event is recorded already, once the events parked for its payment are drained
        (`_parked_for_recorded`)."""
        async with self._uow().read_only() as reading:
            if not await reading.webhook_inbox.seen(event.event_id):
                return await check(event, reading)
            parked = await self._parked_for_recorded(reading, event)
        if parked is not None:
            await self.apply_parked(parked)
        return None

    @classmethod
    async def _parked_for_recorded(cls, reading: UnitOfWork, event: PaymentEvent) -> str | None:
        """For an event recorded already: the payment events are parked for, when a
        session event's booking is paid with one (the payment as recorded, whatever the
        event's type or payload says: its check may have made it a payment, as an expiry
        of a paid session is), else the payment a paying event names; None when nothing is
        parked."""
        if isinstance(event, CheckoutSessionEvent):
            booking = await reading.bookings.find_by_gateway_session(event.session_id)
            paid_with = None if booking is None else booking.payment_intent_id
            if paid_with is not None:
                has_parked = bool(await reading.parked_events.for_payment(paid_with))
                return paid_with if has_parked else None
        return await cls._parked_for(reading, event)

    async def _recorded_and_applied(self, event: PaymentEvent) -> EventApplied:
        if type(event) not in HANDLERS:
            return EventApplied(Outcome.IGNORED, detail=f"{type(event).__name__} not handled")
        async with self._uow() as uow:
            duplicate = not await uow.webhook_inbox.record(event.event_id)
            if duplicate:
                applied = EventApplied(Outcome.DUPLICATE)
            else:
                applied = await self._handled(uow, event)
            # Whether anything is parked for the payment is read here, in the transaction
            # that pays the booking, rather than in one of its own after it: nearly always
            # nothing is, and then the parked-events step costs one statement, not a
            # transaction. Also after a duplicate: a crash may have come between its commit
            # and the drain. An event parked by a transaction that commits after this read
            # (it could not see this booking paid) is drained by reconciliation
            # (application/reconcile.py), as one parked after the drain always was.
            parked = await self._parked_for(uow, event)
            if not duplicate:
                await uow.commit()
        if parked is not None:
            await self.apply_parked(parked)
        return await self._follow_up(applied)

    @staticmethod
    async def _parked_for(uow: UnitOfWork, event: PaymentEvent) -> str | None:
        """The payment a paying event names when events are parked for it; else None."""
        payment = event.payment_intent_id if isinstance(event, PAYMENTS) else None
        if payment is None or not await uow.parked_events.for_payment(payment):
            return None
        return payment

    async def _checked(self, event: PaymentEvent) -> PaymentEvent:
        """The event its check makes of it, read in a unit of its own; no inbox lookup."""
        check = CHECKS.get(type(event))
        if check is None:
            return event
        async with self._uow().read_only() as reading:
            step = await check(event, reading)
        return await step(self._gateway, self._uow)

    async def _handled(self, uow: UnitOfWork, event: PaymentEvent) -> EventApplied:
        handler = HANDLERS.get(type(event))
        if handler is None:
            return EventApplied(Outcome.IGNORED, detail=f"{type(event).__name__} not handled")
        return await handler(EventContext(uow, self._clock, self._bearer), event)

    async def _follow_up(self, applied: EventApplied) -> EventApplied:
        if applied.tenant_id is None or applied.booking_id is None:
            return applied
        if applied.follow_up is FollowUp.REFUND_IN_FULL:
            await refund_in_full(
                self._uow, self._gateway, self._clock, applied.tenant_id, applied.booking_id
            )
        elif applied.follow_up is FollowUp.RECOVER_LOST_DISPUTE:
            recovered = await recover_lost_disputes(
                self._uow, self._gateway, self._clock, applied.tenant_id, applied.booking_id
            )
            return replace(applied, recovered=recovered)
        return applied
