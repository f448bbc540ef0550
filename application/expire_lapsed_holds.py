"""The hold sweeper: bookings still unpaid when their hold ends give their seats back.

For each lapsed hold the gateway session is expired first, so the customer can no longer
pay; then the seats are released and the booking marked expired. If the gateway says the
session completed meanwhile, that completion is applied instead. Several sweepers may run
at once (one per server process, plus `bookpay sweep`): each claims the holds it sweeps for
a while (`CLAIM`), so the others skip them instead of asking the gateway too; a sweeper
that dies leaves its claims to end by themselves. Each booking still changes in one
transaction guarded by its version, and the gateway calls are idempotent, so even two
sweepers on one booking (a claim that ran out) give its seats back once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from application.errors import GatewayError
from application.holds import release_seats_if_hold_ended
from application.payment_events import ApplyPaymentEvent
from application.ports import (
    CheckoutCompleted,
    CheckoutSession,
    Clock,
    ConcurrentUpdate,
    PaymentGateway,
    PaymentStatus,
    SessionStatus,
)
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus
from domain.tenant import ChargeModel

log = logging.getLogger("bookpay.sweeper")

# How long a sweeper keeps the holds it claimed: time enough to ask the gateway about a
# batch of them (each call is bounded by the gateway's timeout).
CLAIM = timedelta(minutes=5)


@dataclass
class SweepReport:
    expired: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class ExpireLapsedHolds:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        apply_event: ApplyPaymentEvent,
        clock: Clock,
        *,
        batch: int = 100,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._apply = apply_event
        self._clock = clock
        self._batch = batch

    async def __call__(self, before: datetime | None = None) -> SweepReport:
        """Sweep the holds that ended before `before` (default: now)."""
        report = SweepReport()
        now = self._clock.now()
        before = before or now
        async with self._uow() as uow:
            tenant_ids = await uow.bookings.tenants_with_lapsed_holds(before)
        for tenant_id in tenant_ids:
            async with self._uow() as uow:
                lapsed = await uow.bookings.claim_lapsed_holds(
                    tenant_id, before, now=now, claim_until=now + CLAIM, limit=self._batch
                )
                tenant = await uow.tenants.get(tenant_id)
                await uow.commit()
            direct_account = (
                tenant.connect.account_id
                if tenant is not None and tenant.charge_model is ChargeModel.DIRECT
                else None
            )
            for booking in lapsed:
                try:
                    await self._sweep(booking, direct_account, report)
                except (GatewayError, ConcurrentUpdate) as error:
                    # Another sweeper or a webhook got there first, or the gateway is down:
                    # the next sweep looks again.
                    log.info("hold of booking %s left for the next sweep: %s", booking.id, error)
                    report.skipped.append(booking.id)
        return report

    async def _sweep(self, booking: Booking, account_id: str | None, report: SweepReport) -> None:
        if booking.gateway_session_id is not None:
            session = await self._expire_session(booking.gateway_session_id, account_id)
            if session.status is SessionStatus.COMPLETE:
                await self._apply(
                    CheckoutCompleted(
                        event_id=f"sweep:{session.session_id}:completed",
                        created_at=self._clock.now(),
                        account_id=account_id,
                        session_id=session.session_id,
                        booking_id=booking.id,
                        paid=session.payment_status is not PaymentStatus.UNPAID,
                        payment_intent_id=session.payment_intent_id,
                        amount_total=session.amount_total,
                    )
                )
                report.completed.append(booking.id)
                return
        async with self._uow() as uow:
            current = await uow.bookings.get(booking.tenant_id, booking.id)
            if current is not None and current.status is BookingStatus.PENDING_PAYMENT:
                expired = await release_seats_if_hold_ended(uow, current, current.expire())
                await uow.bookings.update(expired)
                await uow.commit()
                current = expired
        # The gateway's own "expired" event may have got there first; either way it lapsed.
        if current is not None and current.status is BookingStatus.EXPIRED:
            report.expired.append(booking.id)

    async def _expire_session(self, session_id: str, account_id: str | None) -> CheckoutSession:
        try:
            return await self._gateway.expire_checkout_session(session_id, account_id=account_id)
        except GatewayError:
            # Stripe refuses to expire a session that is no longer open: ask what it is.
            return await self._gateway.retrieve_checkout_session(session_id, account_id=account_id)
