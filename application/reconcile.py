"""Reconciliation: ask the gateway about what its events should have told us, and apply it.

Webhooks can arrive late or never. Periodically (and with `bookpay reconcile`) Bookpay
asks the gateway about bookings still pending past their hold plus a grace period,
bookings waiting for a delayed payment, and tenants whose account cannot take charges
yet, and applies what it learns through the same code paths as the events — so whatever
the real event later says is already reflected and changes nothing. Refunds whose answer
from the gateway was lost are re-sent with their own idempotency keys and settled or
released, and a payment the system must give back is refunded
(application/settle_reserved_refunds.py). Lost disputes whose recovery from the tenant was
reserved but not confirmed are sent again with their own idempotency key
(application/dispute_recoveries.py). Each recent paid booking's ledger and disputes are
compared with the gateway's charge, refunds, application fee and disputes: what the
gateway's facts prove is repaired, the rest reported for a human
(application/reconcile_payments.py). Refund and dispute events parked for a payment a booking
is now paid with (left by a crash or an outage after the payment) are checked against the
gateway and applied (application/payment_events/parked.py). It also drops refund and dispute
events parked for a payment that no booking was paid with in `PARKED_FOR` (a payment the
platform took outside Bookpay), and reports them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

from application.cancel_slot import FinishSlotCancellations
from application.dispute_recoveries import DisputeRecoveries
from application.errors import GatewayError
from application.expire_lapsed_holds import ExpireLapsedHolds
from application.payment_events import ApplyPaymentEvent, Outcome
from application.ports.gateway import PaymentGateway, PaymentStatus
from application.ports.gateway_events import AccountUpdated, AsyncPaymentSucceeded
from application.ports.time_and_identity import Clock
from application.reconcile_payments import DEFAULT_DAYS, PaymentsReport, ReconcilePayments
from application.settle_reserved_refunds import SettleReservedRefunds
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus
from domain.tenant import Tenant

log = logging.getLogger("bookpay.reconcile")

# Far longer than any checkout can take to complete (24 hours, then a delayed payment of a
# few business days) and than Stripe retries a webhook (3 days).
PARKED_FOR = timedelta(days=30)


@dataclass
class ReconcileReport:
    expired: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    tenants_updated: list[str] = field(default_factory=list)
    refunds_settled: list[str] = field(default_factory=list)  # the gateway's refund ids
    refunds_released: list[str] = field(default_factory=list)  # reservations it refused
    disputes_recovered: list[str] = field(default_factory=list)
    parked_dropped: list[str] = field(default_factory=list)
    # Refund and dispute events parked before their payment, checked and applied now (a
    # crash or an outage came between the payment and them); refuted ones are dropped.
    parked_applied: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    # Bookings of cancelled slots ended now (a slot cancellation that was interrupted).
    slot_bookings_ended: list[str] = field(default_factory=list)
    # Ledgers compared with the gateway's objects: what its facts proved and was repaired,
    # and what still differs and is left for a human ("<booking id>: <what>" each).
    payments_repaired: list[str] = field(default_factory=list)
    for_a_human: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return (
            len(self.expired)
            + len(self.confirmed)
            + len(self.tenants_updated)
            + len(self.refunds_settled)
            + len(self.refunds_released)
            + len(self.disputes_recovered)
            + len(self.parked_dropped)
            + len(self.parked_applied)
            + len(self.slot_bookings_ended)
            + len(self.payments_repaired)
        )


class Reconcile:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        apply_event: ApplyPaymentEvent,
        sweeper: ExpireLapsedHolds,
        settle_refunds: SettleReservedRefunds,
        clock: Clock,
        *,
        grace: timedelta = timedelta(minutes=10),
        finish_slot_cancellations: FinishSlotCancellations | None = None,
        payments_days: int = DEFAULT_DAYS,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._apply = apply_event
        self._sweeper = sweeper
        self._settle_refunds = settle_refunds
        self._clock = clock
        self._grace = grace
        self._recoveries = DisputeRecoveries(uow, gateway, clock)
        self._finish_slot_cancellations = finish_slot_cancellations
        self._payments_days = payments_days

    async def __call__(self, *, payments_days: int | None = None) -> ReconcileReport:
        """Everything above, once. `payments_days`: how many days back paid bookings are
        compared with the gateway (by their creation; default the constructor's)."""
        report = ReconcileReport()
        payments = ReconcilePayments(
            self._uow,
            self._gateway,
            self._apply,
            self._clock,
            days=self._payments_days if payments_days is None else payments_days,
        )
        swept = await self._sweeper(before=self._clock.now() - self._grace)
        report.expired += swept.expired
        report.confirmed += swept.completed
        report.unreachable += swept.skipped
        async for tenant in self._tenants():
            await self._reconcile_account(tenant, report)
            await self._reconcile_delayed_payments(tenant, report)
        settled = await self._settle_refunds()
        report.refunds_settled += settled.settled
        report.refunds_released += settled.released
        report.unreachable += settled.still_unknown
        report.parked_applied += await self._apply_parked_events()
        compared = PaymentsReport()
        async for tenant in self._tenants():
            await payments(tenant, compared)
        report.payments_repaired += compared.repaired
        report.for_a_human += compared.for_a_human
        report.unreachable += compared.unreachable
        report.disputes_recovered += compared.recovered
        await self._recover_lost_disputes(report)
        report.parked_dropped += await self._drop_stale_parked_events()
        if self._finish_slot_cancellations is not None:
            for finished in await self._finish_slot_cancellations():
                report.slot_bookings_ended += finished.ended
                report.unreachable += finished.unfinished
        return report

    async def _recover_lost_disputes(self, report: ReconcileReport) -> None:
        for tenant_id, booking_id in await self._recoveries.pending():
            outcome = await self._recoveries(tenant_id, booking_id)
            report.disputes_recovered += outcome.recovered
            report.unreachable += outcome.left
            report.for_a_human += outcome.not_backed

    async def _apply_parked_events(self) -> list[str]:
        async with self._uow() as uow:
            payments = await uow.parked_events.payments()
        applied: list[str] = []
        for payment in payments:
            outcomes = await self._apply.apply_parked(payment)
            applied += [
                o.booking_id
                for o in outcomes
                if o.outcome is Outcome.APPLIED and o.booking_id is not None
            ]
        return applied

    async def _drop_stale_parked_events(self) -> list[str]:
        async with self._uow() as uow:
            dropped = await uow.parked_events.discard(self._clock.now() - PARKED_FOR)
            await uow.commit()
        for event_id in dropped:
            log.warning(
                "event %s named a payment no booking was paid with in %s: dropped",
                event_id,
                PARKED_FOR,
            )
        return dropped

    async def _tenants(self) -> AsyncIterator[Tenant]:
        after: str | None = None
        while True:
            async with self._uow() as uow:
                tenants = await uow.tenants.list(after=after, limit=200)
            if not tenants:
                return
            for tenant in tenants:
                yield tenant
            after = tenants[-1].id

    async def _reconcile_account(self, tenant: Tenant, report: ReconcileReport) -> None:
        # Both directions: a lost "enabled" keeps a tenant from selling, a lost "disabled"
        # lets one sell that Stripe stopped.
        account_id = tenant.connect.account_id
        if account_id is None:
            return
        try:
            status = await self._gateway.retrieve_account(account_id)
        except GatewayError as error:
            log.info("account %s not reconciled: %s", account_id, error)
            report.unreachable.append(tenant.id)
            return
        if status == tenant.connect:
            return
        applied = await self._apply(
            AccountUpdated(
                event_id=f"reconcile:{account_id}:{self._clock.now().isoformat()}",
                created_at=self._clock.now(),
                account_id=account_id,
                status=status,
            )
        )
        if applied.outcome is Outcome.APPLIED:
            report.tenants_updated.append(tenant.id)

    async def _reconcile_delayed_payments(self, tenant: Tenant, report: ReconcileReport) -> None:
        account_id = tenant.charge_account_id
        for booking in await self._awaiting(tenant.id):
            if booking.gateway_session_id is None:
                continue
            try:
                session = await self._gateway.retrieve_checkout_session(
                    booking.gateway_session_id, account_id=account_id
                )
            except GatewayError as error:
                log.info("booking %s not reconciled: %s", booking.id, error)
                report.unreachable.append(booking.id)
                continue
            if session.payment_status is not PaymentStatus.PAID:
                continue
            applied = await self._apply(
                AsyncPaymentSucceeded(
                    event_id=f"reconcile:{session.session_id}:paid",
                    created_at=self._clock.now(),
                    account_id=account_id,
                    session_id=session.session_id,
                    booking_id=booking.id,
                    payment_intent_id=session.payment_intent_id,
                    amount_total=session.amount_total,
                )
            )
            if applied.outcome is Outcome.APPLIED:
                report.confirmed.append(booking.id)

    async def _awaiting(self, tenant_id: str) -> list[Booking]:
        waiting: list[Booking] = []
        cursor: str | None = None
        while True:
            async with self._uow() as uow:
                page = await uow.bookings.list(
                    tenant_id,
                    statuses=(BookingStatus.AWAITING_ASYNC_PAYMENT,),
                    limit=200,
                    cursor=cursor,
                )
            waiting += page.items
            if page.next_cursor is None:
                return waiting
            cursor = page.next_cursor
