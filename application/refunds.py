"""Refund a booking's payment so that what Bookpay shows converges to what the gateway did.

A refund is reserved before the gateway is asked; its outcome is *unknown* until the
gateway confirms it. Every use case that gives money back goes through RefundFlow:

1. Converge. Each unknown reservation of the booking is asked of the gateway again before
   anything new is decided: looked up by its reference among the payment's refunds, else
   re-sent unchanged with its own idempotency key (the gateway answers with the refund it
   made, or makes it once). Then it is settled — ledger entries, and the cancellation it
   was reserved for — or released if the gateway refused it. When the gateway cannot be
   reached, GatewayOutcomeUnknown goes up ("retry"): nothing is decided on unknown money.
   Two writers may re-send the same reservation at once (a retry and reconciliation):
   with one key the gateway makes one refund (or refuses the second while the first is
   in flight, which leaves it unknown for a later retry), and step 4 settles it once.
2. Reserve. One transaction decides the refund on the booking as it is now and reserves
   it (a pending Refund under Bookpay's own id, which is also its idempotency key). The
   booking's optimistic version is the atomic guard: of concurrent writers, each decides
   on the state the others left. An unknown reservation holds its money back (so refunds
   never together pass what was paid) but never counts as refunded when deciding (e.g.
   "a full refund was already made"): a writer that finds one goes back to 1.
3. Send, outside any transaction. Refused: the reservation is released and the error
   goes up. No answer (timeout, outage, 5xx, a crash before the next step): it stays
   unknown and GatewayOutcomeUnknown goes up.
4. Settle, in one transaction: under the gateway's refund id, with its ledger entries,
   and the caller's finish (e.g. cancel and free the seats). Settling is idempotent: of
   two writers settling one reservation (a retry and reconciliation re-sending it at
   once), the first commits and the other, retried on the new version, finds it settled
   and changes nothing; ledger entries are keyed by the gateway's refund id.

Nothing is reported refunded before step 4. The gateway's charge.refunded event may arrive
before it: it counts reservations too (Booking.refunded_or_reserved), so it records
nothing for them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from application.errors import (
    CardDeclined,
    GatewayAuthenticationFailed,
    GatewayError,
    GatewayInvalidRequest,
    GatewayOutcomeUnknown,
    NotFound,
)
from application.holds import cancel_and_free_seats
from application.ports.gateway import PaymentGateway, RefundResult
from application.ports.repositories import ConcurrentUpdate
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import UnitOfWork
from application.refund_requests import issue_refund, reservation_id
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus, CancelledBy, Refund
from domain.cancellation import RefundSplit
from domain.events import booking_events
from domain.ledger import customer_refund_entry, fee_refund_entries
from domain.money import Money
from domain.tenant import Tenant

log = logging.getLogger("bookpay.payments")

# Concurrent writers to one booking each retry on the state the others left; every
# conflict means another writer made progress, so this bound is never reached in practice.
MAX_ATTEMPTS = 50


# The gateway answered this very request with a refusal: with the reservation's own key it
# would have answered with the refund instead, had it made one. So the reservation can be
# released. Anything else (no answer, a failure on the gateway's side or its throttling
# after retries, a request with the same key still in flight) leaves the outcome unknown
# and the money reserved.
_REFUSED = (CardDeclined, GatewayAuthenticationFailed, GatewayInvalidRequest)

# A refund the gateway made but that did not give the money back.
_FAILED = frozenset({"failed", "canceled"})

# Decides the refund on the booking as it is now: None when there is nothing to do at all.
Decide = Callable[[UnitOfWork, Booking], Awaitable[RefundSplit | None]]
# Further changes in the settling transaction (e.g. cancel the booking, free its seats).
Finish = Callable[[UnitOfWork, Booking], Awaitable[Booking]]


async def _unchanged(uow: UnitOfWork, booking: Booking) -> Booking:
    return booking


@dataclass(frozen=True, slots=True)
class Converged:
    """A booking after its unknown refunds were asked of the gateway again."""

    booking: Booking
    settled: tuple[str, ...] = ()  # the gateway's refund ids
    released: tuple[str, ...] = ()  # reservation ids the gateway refused


@dataclass(frozen=True, slots=True)
class _Reserved:
    booking: Booking
    tenant: Tenant
    refund: Refund | None


# _reserve found a refund of unknown outcome (reserved meanwhile): converge first.
_CONVERGE_FIRST = "converge first"


class RefundFlow:
    """Converge → reserve → gateway → settle, for every use case that gives money back."""

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
        *,
        cancels: CancelledBy | None = None,
        request_key: str | None = None,
    ) -> Booking:
        """Decide a refund on the booking, have the gateway make it, and `finish`.

        `decide` sees the booking with no refund of unknown outcome; it returns None for
        "nothing to do" (the booking is returned as it is) or the split to refund (an empty
        one only runs `finish`). `cancels` marks the refund as reserved for a cancellation,
        so that whoever settles it cancels the booking too. With `request_key` (the
        client's idempotency key) a retry of a request whose refund was already reserved
        reserves nothing new and returns the booking with that refund (settled first, if
        the gateway made it; released and asked again, if it refused).

        Raises what `decide` raises, the gateway's refusal (CardDeclined,
        GatewayInvalidRequest, …; nothing reserved is left), GatewayOutcomeUnknown (retry:
        a retry settles what the gateway made), or ConcurrentUpdate.
        """
        for _ in range(MAX_ATTEMPTS):
            reserved = await self._reserve(
                tenant_id, booking_id, decide, reason, cancels, request_key
            )
            if reserved == _CONVERGE_FIRST:  # read in the same transaction as the decision
                await self.converge(tenant_id, booking_id)
                continue
            if reserved is None:
                return await self._current(tenant_id, booking_id)
            assert isinstance(reserved, _Reserved)
            refund_id = None
            if reserved.refund is not None:
                refund_id = await self._send(reserved)
            return await self._settle(reserved, refund_id, finish)
        raise ConcurrentUpdate(f"booking {booking_id} kept changing; try again")

    async def converge(self, tenant_id: str, booking_id: str) -> Converged:
        """Settle or release each refund of the booking whose outcome is unknown.

        Each is looked up among the payment's refunds by its reference, else re-sent with
        its own idempotency key and the very same parameters. Raises GatewayOutcomeUnknown
        (or another GatewayError from listing) when the gateway gives no answer: the
        reservations stay unknown, holding their money.
        """
        async with self._uow() as uow:
            booking = await uow.bookings.get(tenant_id, booking_id)
            tenant = await uow.tenants.get(tenant_id)
        if booking is None or tenant is None:
            raise NotFound("booking", booking_id)
        unknown = booking.unknown_refunds
        if not unknown or booking.payment_intent_id is None:
            return Converged(booking)
        made = await self._made_by_reference(tenant, booking.payment_intent_id)
        settled: list[str] = []
        released: list[str] = []
        for refund in unknown:
            answer = made.get(refund.refund_id)
            if answer is None:
                try:
                    answer = await self._ask(tenant, booking, refund)
                except _REFUSED:
                    answer = None
            if answer is None or answer.status in _FAILED:
                booking = await self.release(booking, refund.refund_id)
                released.append(refund.refund_id)
                continue
            booking = await self._settle_one(booking, refund, answer.refund_id, cancel=True)
            settled.append(answer.refund_id)
        return Converged(booking, tuple(settled), tuple(released))

    async def release(self, booking: Booking, reservation_id: str) -> Booking:
        """Release a reserved refund the gateway refused."""
        return await self._change(booking, lambda uow, b: _released(b, reservation_id))

    async def _current(self, tenant_id: str, booking_id: str) -> Booking:
        async with self._uow() as uow:
            booking = await uow.bookings.get(tenant_id, booking_id)
        if booking is None:
            raise NotFound("booking", booking_id)
        return booking

    async def _made_by_reference(
        self, tenant: Tenant, payment_intent_id: str
    ) -> dict[str, RefundResult]:
        try:
            made = await self._gateway.list_refunds(
                payment_intent_id, account_id=tenant.charge_account_id
            )
        except GatewayError as error:
            raise _unknown(f"refunds of {payment_intent_id} could not be listed", error) from error
        return {r.reference: r for r in made if r.reference}

    async def _reserve(
        self,
        tenant_id: str,
        booking_id: str,
        decide: Decide,
        reason: str,
        cancels: CancelledBy | None,
        request_key: str | None,
    ) -> _Reserved | str | None:
        for _ in range(MAX_ATTEMPTS):
            async with self._uow() as uow:
                booking = await uow.bookings.get(tenant_id, booking_id)
                tenant = await uow.tenants.get(tenant_id)
                if booking is None or tenant is None:
                    raise NotFound("booking", booking_id)
                if booking.unknown_refunds:
                    return _CONVERGE_FIRST
                if request_key is not None and booking.refund_by_id(
                    reservation_id(booking, RefundSplit.nothing(booking.currency), request_key)
                ):
                    return None  # this request's refund is made: a retry only reads it
                split = await decide(uow, booking)
                if split is None:
                    return None
                if split.is_empty:
                    return _Reserved(booking, tenant, None)
                refund_id = reservation_id(booking, split, request_key)
                reserved = booking.reserve_refund(refund_id, split, reason=reason, cancels=cancels)
                try:
                    await uow.bookings.update(reserved)
                    await uow.commit()
                except ConcurrentUpdate:
                    continue
                return _Reserved(reserved, tenant, reserved.unknown_refunds[-1])
        raise ConcurrentUpdate(f"booking {booking_id} kept changing; try again")

    async def _ask(self, tenant: Tenant, booking: Booking, refund: Refund) -> RefundResult:
        """Send a reserved refund, unchanged, under its own idempotency key.

        Raises one of _REFUSED when the gateway refused it, else GatewayOutcomeUnknown.
        """
        try:
            return await issue_refund(
                self._gateway,
                tenant,
                booking,
                refund.split,
                refund.reason,
                idempotency_key=refund.refund_id,
            )
        except _REFUSED:
            raise
        except GatewayError as error:
            raise _unknown(f"refund {refund.refund_id} was not confirmed", error) from error

    async def _send(self, reserved: _Reserved) -> str:
        assert reserved.refund is not None
        refund = reserved.refund
        try:
            answer = await self._ask(reserved.tenant, reserved.booking, refund)
        except _REFUSED:
            await self.release(reserved.booking, refund.refund_id)
            raise
        if answer.status in _FAILED:
            await self.release(reserved.booking, refund.refund_id)
            raise GatewayError(f"the gateway could not make refund {answer.refund_id}")
        return answer.refund_id

    async def _settle(self, reserved: _Reserved, refund_id: str | None, finish: Finish) -> Booking:
        now = self._clock.now()
        reservation = reserved.refund
        fee_refunded = None
        if reservation is not None and refund_id is not None:
            fee_refunded = await self._fee_refunded(reserved.tenant, reserved.booking)

        async def settle(uow: UnitOfWork, booking: Booking) -> Booking:
            if reservation is not None and refund_id is not None:
                booking = await _settled(
                    uow, booking, reservation.refund_id, refund_id, now, fee_refunded
                )
            return await finish(uow, booking)

        return await self._change(reserved.booking, settle)

    async def _settle_one(
        self, booking: Booking, refund: Refund, refund_id: str, *, cancel: bool
    ) -> Booking:
        """Settle a reservation the gateway made, and the cancellation it was reserved for."""
        now = self._clock.now()
        fee_refunded = None
        async with self._uow() as uow:
            tenant = await uow.tenants.get(booking.tenant_id)
        if tenant is not None:
            fee_refunded = await self._fee_refunded(tenant, booking)

        async def settle(uow: UnitOfWork, current: Booking) -> Booking:
            settled = await _settled(uow, current, refund.refund_id, refund_id, now, fee_refunded)
            if cancel and refund.cancels is not None and _cancellable(settled):
                settled = await cancel_and_free_seats(uow, settled, refund.cancels, refund.reason)
            return settled

        return await self._change(booking, settle)

    async def _fee_refunded(self, tenant: Tenant, booking: Booking) -> Money | None:
        """What the payment's application fee has given back in all, as the gateway reports
        it after a refund; None when it cannot tell now (no fee refund is booked then: the
        refund's charge.refunded event or reconciliation books the one Stripe made)."""
        if booking.payment_intent_id is None:
            return None
        try:
            return await self._gateway.application_fee_refunded(
                booking.payment_intent_id, account_id=tenant.charge_account_id
            )
        except GatewayError as error:
            log.warning(
                "the application fee of booking %s could not be read: %s", booking.id, error
            )
            return None

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
                        uow.outbox.add(*booking_events(current, changed))
                    await uow.commit()
                except ConcurrentUpdate:
                    continue
                return changed
        raise ConcurrentUpdate(f"booking {booking.id} kept changing; try again")


def _unknown(what: str, error: GatewayError) -> GatewayOutcomeUnknown:
    if isinstance(error, GatewayOutcomeUnknown):
        return error
    return GatewayOutcomeUnknown(f"{what}; nothing is confirmed, try again ({error})")


def _cancellable(booking: Booking) -> bool:
    return booking.status is BookingStatus.CONFIRMED


async def _released(booking: Booking, reservation: str) -> Booking:
    return booking.release_refund(reservation)


async def _settled(
    uow: UnitOfWork,
    booking: Booking,
    reservation_id: str,
    refund_id: str,
    at: datetime,
    fee_refunded: Money | None,
) -> Booking:
    """The reservation settled under the gateway's id; its ledger entries written once.

    The fee refund booked is the one the gateway reports (`fee_refunded`, the application
    fee's `amount_refunded` in all), not the split's computed share."""
    settled = booking.settle_refund(reservation_id, refund_id)
    if settled is booking:  # another writer settled it first
        return booking
    refund = next((r for r in settled.refunds if r.refund_id == refund_id), None)
    if refund is not None and not refund.pending:
        await uow.ledger.add(
            customer_refund_entry(settled, refund_id, refund.split.customer_refund, at)
        )
        entries = await uow.ledger.list_for_booking(settled.tenant_id, settled.id)
        payment = settled.payment_intent_id or refund_id
        given_back = Money.zero(settled.currency)
        for entry in fee_refund_entries(settled, payment, fee_refunded, entries, at):
            await uow.ledger.add(entry)
            given_back += entry.amount
        if fee_refunded is not None:  # the refund's own fee part is Stripe's too
            settled = settled.fee_refund_reported(refund_id, given_back)
    return settled
