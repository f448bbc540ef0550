"""What a decision asks to happen once its transaction committed."""

from __future__ import annotations

import logging

from application.dispute_recoveries import DisputeRecoveries
from application.errors import GatewayError
from application.ports.gateway import PaymentGateway
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import UnitOfWork
from application.refunds import RefundFlow
from application.uow import UnitOfWorkFactory
from domain.booking import Booking
from domain.cancellation import RefundSplit

log = logging.getLogger("bookpay.payments")


async def refund_in_full(
    uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock, tenant_id: str, booking_id: str
) -> None:
    """Give a late payment whose seats were sold back in full, fee included.

    Reserved before it is sent (application/refunds.py), so the refund's own
    charge.refunded event, which may arrive first, does not count it twice.
    """

    async def everything_back(uow: UnitOfWork, current: Booking) -> RefundSplit:
        return current.system_refund()

    try:
        await RefundFlow(uow, gateway, clock)(
            tenant_id, booking_id, everything_back, "paid after the hold lapsed"
        )
    except GatewayError:
        log.exception(
            "booking %s was paid late with no seats left; its refund failed and is left "
            "for reconciliation",
            booking_id,
        )
        return
    log.warning("booking %s paid late with no seats left: refunded in full", booking_id)


async def recover_lost_disputes(
    uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock, tenant_id: str, booking_id: str
) -> tuple[str, ...]:
    """Take the booking's lost disputes back from the tenant's transfer, as reserved; the
    ids of the disputes recovered now.

    An outcome left unknown stays reserved and is re-sent by reconciliation with the same
    idempotency key (application/dispute_recoveries.py).
    """
    return (await DisputeRecoveries(uow, gateway, clock)(tenant_id, booking_id)).recovered
