"""Refund a booking's payment: reserve it, send it to the gateway, settle it.

1. One transaction reserves the refund on the booking (a pending refund under Bookpay's
   own id). The booking's optimistic version makes this the atomic guard: of concurrent
   refunds, each is decided on the state the others left, so together they never exceed
   what was paid; a refund that no longer fits is refused before the gateway is asked.
2. The gateway refunds, outside any transaction, with the reservation's id as its
   idempotency key. If the gateway refuses, the reservation is released; if the outcome
   is unknown (timeout, 5xx), it stays reserved, so nothing can refund that money twice.
3. A second transaction settles the reservation under the gateway's refund id and writes
   the ledger entries. The gateway's charge.refunded event may arrive before this: it
   sees the reservation counted in the booking's refunded total and records nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from application.errors import (
    CardDeclined,
    GatewayAuthenticationFailed,
    GatewayInvalidRequest,
    GatewayRateLimited,
    NotFound,
)
from application.ports import (
    Clock,
    ConcurrentUpdate,
    PaymentGateway,
    RefundRequest,
    RefundResult,
    UnitOfWork,
)
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, Refund
from domain.cancellation import RefundSplit
from domain.errors import IllegalTransition
from domain.ledger import refund_entries
from domain.tenant import ChargeModel, Tenant

# Concurrent writers to one booking each retry on the state the others left; every
# conflict means another writer made progress, so this bound is never reached in practice.
MAX_ATTEMPTS = 50


# The gateway refused the request, so nothing went back: the reservation can be released.
# Any other failure (timeout, 5xx) leaves the outcome unknown, and the money reserved.
_REFUSED = (CardDeclined, GatewayAuthenticationFailed, GatewayInvalidRequest, GatewayRateLimited)

# Decides the refund on the booking as it is now: None when there is nothing to do at all.
Decide = Callable[[UnitOfWork, Booking], Awaitable[RefundSplit | None]]
# Further changes in the settling transaction (e.g. cancel the booking, free its seats).
Finish = Callable[[UnitOfWork, Booking], Awaitable[Booking]]


async def _unchanged(uow: UnitOfWork, booking: Booking) -> Booking:
    return booking


def refund_request(
    tenant: Tenant, booking: Booking, split: RefundSplit, idempotency_key: str, reason: str
) -> RefundRequest:
    """How a refund is asked of the gateway, per charge model and fee policy.

    Destination charge (the platform charged, the whole amount was transferred to the
    tenant and the application fee taken back from it): `reverse_transfer` always pulls the
    refunded amount back from the tenant's transfer, so the platform's own balance never
    pays for the refund; `refund_application_fee` gives back the same share of the fee
    only when the split says the fee comes back (proportional). With a non-refundable fee
    the tenant's reversal pays for all of it, the fee included when the tenant cancels.
    Direct charge: the refund comes out of the tenant's own account; the fee comes back
    from the platform only when the split says so.
    """
    if booking.payment_intent_id is None:
        raise IllegalTransition(booking.id, booking.status, "refund without a payment")
    destination = tenant.charge_model is ChargeModel.DESTINATION
    return RefundRequest(
        booking_id=booking.id,
        payment_intent_id=booking.payment_intent_id,
        amount=split.customer_refund,
        charge_model=tenant.charge_model,
        refund_application_fee=not split.application_fee_refund.is_zero,
        reverse_transfer=destination,
        idempotency_key=idempotency_key,
        account_id=None if destination else tenant.connect.account_id,
        reason=reason,
    )


async def issue_refund(
    gateway: PaymentGateway,
    tenant: Tenant,
    booking: Booking,
    split: RefundSplit,
    reason: str,
    idempotency_key: str | None = None,
) -> RefundResult:
    """Send a refund of `split` to the gateway (see refund_request for the parameters).

    Without a key, the key counts the booking's refunds, so a retry of the same refund
    reuses it.
    """
    key = idempotency_key or f"bookpay-refund-{booking.id}-{len(booking.refunds) + 1}"
    return await gateway.refund(refund_request(tenant, booking, split, key, reason))


def reservation_id(booking: Booking, split: RefundSplit) -> str:
    """Bookpay's id of a refund before the gateway knows it; also its idempotency key.

    Positions count every refund reserved so far. A refund reserved in the place of a
    released one gets the same position; with the amount in the id, only the very same
    request (which the gateway refused before) gets the gateway's earlier answer again.
    """
    amount = split.customer_refund.amount
    return f"bookpay-refund-{booking.id}-{len(booking.refunds) + 1}-{amount}"


@dataclass(frozen=True, slots=True)
class _Reserved:
    booking: Booking
    tenant: Tenant
    refund: Refund | None


class RefundFlow:
    """Reserve → gateway → settle, for every use case that gives money back."""

    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock

    async def __call__(
        self,
        tenant_id: str,
        booking_id: str,
        decide: Decide,
        reason: str,
        finish: Finish = _unchanged,
    ) -> Booking:
        reserved = await self._reserve(tenant_id, booking_id, decide)
        if reserved is None:
            return await self._current(tenant_id, booking_id)
        refund_id = None
        if reserved.refund is not None:
            result = await self._send(reserved, reason)
            refund_id = result.refund_id
        return await self._settle(reserved, refund_id, finish)

    async def settle(self, booking: Booking, reservation_id: str, refund_id: str) -> Booking:
        """Settle a reserved refund the gateway made (e.g. found by reconciliation)."""
        now = self._clock.now()

        async def settle(uow: UnitOfWork, current: Booking) -> Booking:
            settled = current.settle_refund(reservation_id, refund_id)
            await _write_ledger(uow, settled, refund_id, now)
            return settled

        return await self._change(booking, settle)

    async def release(self, booking: Booking, reservation_id: str) -> Booking:
        """Release a reserved refund the gateway refused."""
        return await self._change(booking, lambda uow, b: _released(b, reservation_id))

    async def _current(self, tenant_id: str, booking_id: str) -> Booking:
        async with self._uow() as uow:
            booking = await uow.bookings.get(tenant_id, booking_id)
        if booking is None:
            raise NotFound("booking", booking_id)
        return booking

    async def _reserve(self, tenant_id: str, booking_id: str, decide: Decide) -> _Reserved | None:
        for _ in range(MAX_ATTEMPTS):
            async with self._uow() as uow:
                booking = await uow.bookings.get(tenant_id, booking_id)
                tenant = await uow.tenants.get(tenant_id)
                if booking is None or tenant is None:
                    raise NotFound("booking", booking_id)
                split = await decide(uow, booking)
                if split is None:
                    return None
                if split.is_empty:
                    return _Reserved(booking, tenant, None)
                refund = Refund(reservation_id(booking, split), split, pending=True)
                reserved = booking.reserve_refund(refund.refund_id, split)
                try:
                    await uow.bookings.update(reserved)
                    await uow.commit()
                except ConcurrentUpdate:
                    continue
                return _Reserved(reserved, tenant, refund)
        raise ConcurrentUpdate(f"booking {booking_id} kept changing; try again")

    async def _send(self, reserved: _Reserved, reason: str) -> RefundResult:
        assert reserved.refund is not None
        refund = reserved.refund
        try:
            return await issue_refund(
                self._gateway,
                reserved.tenant,
                reserved.booking,
                refund.split,
                reason,
                idempotency_key=refund.refund_id,
            )
        except _REFUSED:
            await self.release(reserved.booking, refund.refund_id)
            raise

    async def _settle(self, reserved: _Reserved, refund_id: str | None, finish: Finish) -> Booking:
        now = self._clock.now()
        reservation = reserved.refund

        async def settle(uow: UnitOfWork, booking: Booking) -> Booking:
            if reservation is not None and refund_id is not None:
                settled = booking.settle_refund(reservation.refund_id, refund_id)
                await _write_ledger(uow, settled, refund_id, now)
                booking = settled
            return await finish(uow, booking)

        return await self._change(reserved.booking, settle)

    async def _change(self, booking: Booking, change: Finish) -> Booking:
        for _ in range(MAX_ATTEMPTS):
            async with self._uow() as uow:
                current = await uow.bookings.get(booking.tenant_id, booking.id)
                if current is None:
                    raise NotFound("booking", booking.id)
                changed = await change(uow, current)
                try:
                    if changed is not current:
                        await uow.bookings.update(changed)
                    await uow.commit()
                except ConcurrentUpdate:
                    continue
                return changed
        raise ConcurrentUpdate(f"booking {booking.id} kept changing; try again")


async def _released(booking: Booking, reservation: str) -> Booking:
    return booking.release_refund(reservation)


async def _write_ledger(uow: UnitOfWork, booking: Booking, refund_id: str, at: datetime) -> None:
    refund = next((r for r in booking.refunds if r.refund_id == refund_id), None)
    if refund is not None and not refund.pending:
        for entry in refund_entries(booking, refund, at):
            await uow.ledger.add(entry)
