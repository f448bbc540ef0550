"""Converge every refund whose answer from the gateway was lost (timeout, outage, crash).

Run by reconciliation (`bookpay reconcile` and the periodic job). For each booking whose
refunds have not converged (BookingRepository.with_refunds_due):

- each reservation of unknown outcome is looked up among the payment's refunds by its
  reference, else re-sent unchanged with its own idempotency key — the gateway answers
  with the refund it made, or makes it once — and is settled (ledger entries, and the
  cancellation it was reserved for) or, if refused, released (RefundFlow.converge);
- a booking the system cancelled (paid after its seats were sold again) that is not
  refunded in full yet — its automatic refund was never reserved because the process
  stopped first, or was released — is refunded in full (Booking.system_refund).

A booking the gateway cannot answer for stays as it is, reported as still unknown, and is
tried again on the next run; its reservations keep holding their money.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from application.errors import GatewayError
from application.ports.gateway import PaymentGateway
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import UnitOfWork
from application.refunds import RefundFlow
from application.uow import UnitOfWorkFactory
from domain.booking import Booking
from domain.cancellation import RefundSplit

log = logging.getLogger("bookpay.refunds")

SYSTEM_REFUND_REASON = "paid after the hold lapsed"


@dataclass(slots=True)
class SettlementReport:
    settled: list[str] = field(default_factory=list)  # the gateway's refund ids
    released: list[str] = field(default_factory=list)  # reservation ids the gateway refused
    still_unknown: list[str] = field(default_factory=list)  # booking ids, tried next time


class SettleReservedRefunds:
    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock) -> None:
        self._uow = uow
        self._flow = RefundFlow(uow, gateway, clock)

    async def __call__(self, *, limit: int = 100) -> SettlementReport:
        """Every booking with refunds due, up to `limit` of them."""
        async with self._uow() as uow:
            found = await uow.bookings.with_refunds_due(limit=limit)
        report = SettlementReport()
        for tenant_id, booking_id in found:
            await self.booking(tenant_id, booking_id, report)
        return report

    async def booking(
        self, tenant_id: str, booking_id: str, report: SettlementReport | None = None
    ) -> SettlementReport:
        """Converge one booking's refunds; gateway failures are reported, never raised."""
        report = report if report is not None else SettlementReport()
        try:
            converged = await self._flow.converge(tenant_id, booking_id)
            report.settled += converged.settled
            report.released += converged.released
            if converged.booking.owes_system_refund:
                before = {r.refund_id for r in converged.booking.refunds}
                refunded = await self._flow(
                    tenant_id, booking_id, _system_refund, SYSTEM_REFUND_REASON
                )
                report.settled += [
                    r.refund_id for r in refunded.refunds if r.refund_id not in before
                ]
        except GatewayError as error:
            log.info("refunds of booking %s left for later: %s", booking_id, error)
            report.still_unknown.append(booking_id)
        return report


async def _system_refund(uow: UnitOfWork, booking: Booking) -> RefundSplit | None:
    return booking.system_refund() if booking.owes_system_refund else None
