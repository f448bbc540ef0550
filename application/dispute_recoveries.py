"""Recover lost disputes from the tenant: a transfer reversal that converges like a refund.

The recovery is reserved on the booking's dispute when the dispute closes lost (in the
event's transaction, application/disputes.py), under a reference derived from the dispute
that is also the gateway's idempotency key. It is sent after that transaction committed,
outside any transaction. Until the gateway answers with its reversal the recovery is
unknown, never done: the event's follow-up, and every reconciliation after it, send it
again with the same key (the gateway answers with the reversal it made, or makes it
once); only the confirmed reversal is settled and written to the ledger, as the amount
the tenant bore.

Before a reversal is sent, the payment is fetched from the gateway: a recovery is sent
only for a dispute the gateway lists as lost on the booking's charge. One the gateway does
not list (recorded from an event applied on its word, before events were checked against
the facts) or no longer shows as lost is never taken from the tenant: it is reported
(`not_backed`) for a human and stays reserved, changing no money.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from application.errors import GatewayError, GatewayInvalidRequest, NotFound
from application.ports.gateway import PaymentGateway, TransferReversalRequest
from application.ports.repositories import ConcurrentUpdate
from application.ports.time_and_identity import Clock
from application.uow import UnitOfWorkFactory
from domain.booking import Booking
from domain.dispute import Dispute, DisputeStatus
from domain.ledger import recovery_entries

log = logging.getLogger("bookpay.disputes")

MAX_ATTEMPTS = 50


@dataclass(frozen=True, slots=True)
class RecoveryOutcome:
    recovered: tuple[str, ...] = ()  # dispute ids whose recovery the gateway confirmed
    left: tuple[str, ...] = ()  # dispute ids whose recovery stays unknown or refused
    # "<booking id>: <why>" of recoveries not sent: the gateway does not show them lost.
    not_backed: tuple[str, ...] = ()


class DisputeRecoveries:
    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock

    async def __call__(self, tenant_id: str, booking_id: str) -> RecoveryOutcome:
        """Send every recovery reserved on the booking and not yet confirmed."""
        async with self._uow() as uow:
            booking = await uow.bookings.get(tenant_id, booking_id)
        if booking is None:
            raise NotFound("booking", booking_id)
        recovered: list[str] = []
        left: list[str] = []
        not_backed: list[str] = []
        for dispute in booking.disputes:
            if dispute.recovery is None or not dispute.recovery.pending:
                continue
            try:
                why_not = await self._not_lost_at_gateway(booking, dispute)
            except GatewayError as error:  # not asked: nothing sent, tried again later
                log.info("lost dispute %s not checked: %s", dispute.dispute_id, error)
                left.append(dispute.dispute_id)
                continue
            if why_not is not None:
                log.warning("booking %s: %s", booking.id, why_not)
                not_backed.append(f"{booking.id}: {why_not}")
            elif await self._recover(booking, dispute):
                recovered.append(dispute.dispute_id)
            else:
                left.append(dispute.dispute_id)
        return RecoveryOutcome(tuple(recovered), tuple(left), tuple(not_backed))

    async def pending(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant id, booking id) of bookings with a recovery not yet confirmed."""
        async with self._uow() as uow:
            return await uow.disputes.with_pending_recoveries(limit=limit)

    async def _not_lost_at_gateway(self, booking: Booking, dispute: Dispute) -> str | None:
        """Why the dispute's recovery is not to be sent, or None when the gateway lists it
        lost on the booking's charge. GatewayError when the gateway could not be asked."""
        if booking.payment_intent_id is None:
            return None
        async with self._uow() as uow:
            tenant = await uow.tenants.get(booking.tenant_id)
        account_id = None if tenant is None else tenant.charge_account_id
        why = f"the recovery of lost dispute {dispute.dispute_id} from the tenant is not sent"
        try:
            payment = await self._gateway.retrieve_payment(
                booking.payment_intent_id, account_id=account_id
            )
        except GatewayInvalidRequest:
            return f"{why}: the gateway does not know payment {booking.payment_intent_id}"
        listed = next((d for d in payment.disputes if d.dispute_id == dispute.dispute_id), None)
        if listed is None:
            return f"{why}: the gateway does not list the dispute"
        if listed.status is not DisputeStatus.LOST:
            return f"{why}: the gateway shows it {listed.status.value}"
        return None

    async def _recover(self, booking: Booking, dispute: Dispute) -> bool:
        recovery = dispute.recovery
        assert recovery is not None
        if booking.payment_intent_id is None:
            return False
        request = TransferReversalRequest(
            booking_id=booking.id,
            payment_intent_id=booking.payment_intent_id,
            amount=recovery.amount,
            idempotency_key=recovery.reference,
            description=f"lost dispute {dispute.dispute_id}",
        )
        try:
            result = await self._gateway.reverse_transfer(request)
        except (GatewayError, NotFound):  # refused, or the outcome is unknown
            log.exception(
                "recovering lost dispute %s of booking %s from the tenant failed; it stays "
                "reserved and is sent again by reconciliation",
                dispute.dispute_id,
                booking.id,
            )
            return False
        await self._settle(booking, dispute.dispute_id, result.reversal_id)
        return True

    async def _settle(self, booking: Booking, dispute_id: str, reversal_id: str) -> None:
        now = self._clock.now()
        for _ in range(MAX_ATTEMPTS):
            async with self._uow() as uow:
                current = await uow.bookings.get(booking.tenant_id, booking.id)
                if current is None:
                    raise NotFound("booking", booking.id)
                settled = current.settle_dispute_recovery(dispute_id, reversal_id)
                dispute = settled.dispute(dispute_id)
                assert dispute is not None
                await uow.ledger.add_all(recovery_entries(settled, dispute, now))
                try:
                    if settled is not current:
                        await uow.bookings.update(settled)
                    await uow.commit()
                except ConcurrentUpdate:
                    continue
                return
        raise ConcurrentUpdate(f"booking {booking.id} kept changing; try again")
