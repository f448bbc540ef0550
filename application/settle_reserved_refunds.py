"""Settle refunds left reserved when the gateway's answer was lost (timeout, 5xx, crash).

A reserved refund carries its reservation id to the gateway twice: as the idempotency key
and as the refund's reference. When the gateway lists a refund with that reference, it was
made: it is settled under the gateway's id and written to the ledger. One the gateway does
not list may still be on its way, so it stays reserved (and reported): its money is never
refunded twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from application.errors import NotFound
from application.ports import Clock, PaymentGateway
from application.refunds import RefundFlow
from application.uow import UnitOfWorkFactory
from domain.tenant import ChargeModel


@dataclass(slots=True)
class SettlementReport:
    settled: list[str] = field(default_factory=list)  # gateway refund ids
    still_reserved: list[str] = field(default_factory=list)  # reservation ids


class SettleReservedRefunds:
    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock) -> None:
        self._uow = uow
        self._gateway = gateway
        self._flow = RefundFlow(uow, gateway, clock)

    async def __call__(self, *, limit: int = 100) -> SettlementReport:
        """Every booking with a reserved refund, up to `limit` of them."""
        async with self._uow() as uow:
            found = await uow.bookings.with_reserved_refunds(limit=limit)
        report = SettlementReport()
        for tenant_id, booking_id in found:
            await self.booking(tenant_id, booking_id, report)
        return report

    async def booking(
        self, tenant_id: str, booking_id: str, report: SettlementReport | None = None
    ) -> SettlementReport:
        report = report if report is not None else SettlementReport()
        async with self._uow() as uow:
            booking = await uow.bookings.get(tenant_id, booking_id)
            tenant = await uow.tenants.get(tenant_id)
        if booking is None or tenant is None:
            raise NotFound("booking", booking_id)
        reserved = [refund for refund in booking.refunds if refund.pending]
        if not reserved or booking.payment_intent_id is None:
            return report
        direct = tenant.charge_model is ChargeModel.DIRECT
        made = await self._gateway.list_refunds(
            booking.payment_intent_id, account_id=tenant.connect.account_id if direct else None
        )
        by_reference = {r.reference: r for r in made if r.reference and r.status != "failed"}
        for refund in reserved:
            gateway_refund = by_reference.get(refund.refund_id)
            if gateway_refund is None:
                report.still_reserved.append(refund.refund_id)
                continue
            booking = await self._flow.settle(booking, refund.refund_id, gateway_refund.refund_id)
            report.settled.append(gateway_refund.refund_id)
        return report
