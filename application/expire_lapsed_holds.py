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
from application.holds import EndHold
from application.payment_events import ApplyPaymentEvent
from application.ports.gateway import PaymentGateway
from application.ports.repositories import ConcurrentUpdate
from application.ports.time_and_identity import Clock
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus

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
        self._clock = clock
        self._batch = batch
        self._end_hold = EndHold(uow, gateway, apply_event, clock)

    async def __call__(self, before: datetime | None = None) -> SweepReport:
        """Sweep the holds lapsed at `before` (default: now; see `domain.hold.hold_lapsed`)."""
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
            account_id = tenant.charge_account_id if tenant is not None else None
            for booking in lapsed:
                try:
                    await self._sweep(booking, account_id, report)
                except (GatewayError, ConcurrentUpdate) as error:
                    # Another sweeper or a webhook got there first, or the gateway is down:
                    # the next sweep looks again.
                    log.info("hold of booking %s left for the next sweep: %s", booking.id, error)
                    report.skipped.append(booking.id)
        return report

    async def _sweep(self, booking: Booking, account_id: str | None, report: SweepReport) -> None:
        outcome = await self._end_hold(booking, account_id, Booking.expire)
        if outcome.completed:
            report.completed.append(booking.id)
        # The gateway's own "expired" event may have got there first; either way it lapsed.
        elif outcome.booking is not None and outcome.booking.status is BookingStatus.EXPIRED:
            report.expired.append(booking.id)
