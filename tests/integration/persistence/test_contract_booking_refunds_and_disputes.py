"""The repository contract for a paid booking's refunds and disputes: a refund reserved, then
settled or released; a booking the system cancelled, due a refund until refunded in full;
disputes stored with their booking and following its changes.

Every adapter of the persistence ports keeps these promises: each test runs on the
in-memory fakes, on SQLite and on PostgreSQL (see `backend`).
"""

from __future__ import annotations

from datetime import timedelta

from domain.booking import Booking, BookingStatus, CancelledBy, PaymentStatus, Refund
from domain.cancellation import RefundSplit
from domain.dispute import (
    DisputeBearer,
    DisputeSnapshot,
    DisputeStatus,
)
from domain.money import Money
from domain.tenant import ChargeModel
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    bookable,
    new_id,
    seed,
)
from tests.integration.persistence.conftest import Backend


async def _paid_booking(backend: Backend) -> Booking:
    _, _, slot = await bookable(backend)
    booking = a_booking(slot).attach_session(new_id("cs")).confirm(new_id("pi"))
    await seed(backend, booking)
    return booking


async def test_a_reserved_refund_is_settled_or_released(backend: Backend) -> None:
    booking = await _paid_booking(backend)
    split = RefundSplit(Money(1_000, "usd"), Money(50, "usd"))
    async with backend.uow() as uow:
        stored = await uow.bookings.get(booking.tenant_id, booking.id)
        assert stored is not None
        reserved = stored.reserve_refund(
            "bookpay-refund-1", split, reason="cancelled by the tenant", cancels=CancelledBy.TENANT
        ).reserve_refund("bookpay-refund-2", split)
        await uow.bookings.update(reserved)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found == reserved
        assert [r.pending for r in found.refunds] == [True, True]
        assert (found.refunds[0].reason, found.refunds[0].cancels) == (
            "cancelled by the tenant",
            CancelledBy.TENANT,
        )
        assert (booking.tenant_id, booking.id) in await uow.bookings.with_refunds_due()
        settled = found.settle_refund("bookpay-refund-1", "re_1").release_refund("bookpay-refund-2")
        await uow.bookings.update(settled)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found == settled
        assert found.refunds == (
            Refund(
                "re_1",
                split,
                reason="cancelled by the tenant",
                cancels=CancelledBy.TENANT,
                reference="bookpay-refund-1",
            ),
        )
        assert found.status is BookingStatus.CONFIRMED
        assert (booking.tenant_id, booking.id) not in await uow.bookings.with_refunds_due()


async def test_a_booking_the_system_cancelled_is_due_a_refund_until_refunded_in_full(
    backend: Backend,
) -> None:
    booking = await _paid_booking(backend)
    async with backend.uow() as uow:
        stored = await uow.bookings.get(booking.tenant_id, booking.id)
        assert stored is not None
        cancelled = stored.cancel(CancelledBy.SYSTEM, "paid late")
        await uow.bookings.update(cancelled)
        await uow.commit()
    key = (booking.tenant_id, booking.id)
    async with backend.uow() as uow:
        assert key in await uow.bookings.with_refunds_due()
        found = await uow.bookings.get(*key)
        assert found is not None
        half = RefundSplit(Money(2_000, "usd"), Money(0, "usd"))
        partly = found.record_refund("re_half", half)
        await uow.bookings.update(partly)
        await uow.commit()
    async with backend.uow() as uow:
        assert key in await uow.bookings.with_refunds_due()
        found = await uow.bookings.get(*key)
        assert found is not None
        rest = RefundSplit(found.refundable, Money(0, "usd"))
        await uow.bookings.update(found.record_refund("re_rest", rest))
        await uow.commit()
    async with backend.uow() as uow:
        assert key not in await uow.bookings.with_refunds_due()


def _snapshot(
    dispute_id: str, status: DisputeStatus, minutes: int, refundable: bool = False
) -> DisputeSnapshot:
    return DisputeSnapshot(
        dispute_id=dispute_id,
        amount=Money(4230, "usd"),
        reason="fraudulent",
        status=status,
        is_charge_refundable=refundable,
        opened_at=NOW,
        as_of=NOW + timedelta(minutes=minutes),
    )


async def test_disputes_are_stored_with_their_booking_and_follow_its_changes(
    backend: Backend,
) -> None:
    booking = await _paid_booking(backend)
    first, second = new_id("dp"), new_id("dp")
    async with backend.uow() as uow:
        stored = await uow.bookings.get(booking.tenant_id, booking.id)
        assert stored is not None
        disputed = stored.record_dispute(
            _snapshot(first, DisputeStatus.NEEDS_RESPONSE, 0)
        ).record_dispute(_snapshot(second, DisputeStatus.WARNING_NEEDS_RESPONSE, 1, True))
        await uow.bookings.update(disputed)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found == disputed
        assert found.payment_status is PaymentStatus.DISPUTED
        lost = found.record_dispute(_snapshot(first, DisputeStatus.LOST, 5))
        recovering = lost.reserve_dispute_recovery(
            first, ChargeModel.DESTINATION, DisputeBearer.TENANT
        )
        await uow.bookings.update(recovering)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found == recovering
        assert await uow.disputes.list_for_booking(booking.tenant_id, booking.id) == list(
            recovering.disputes
        )
        assert await uow.disputes.with_pending_recoveries() == [(booking.tenant_id, booking.id)]
        recovered = found.settle_dispute_recovery(first, "trr_1")
        await uow.bookings.update(recovered)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.find_by_payment_intent(booking.payment_intent_id or "")
        assert found == recovered
        assert await uow.disputes.with_pending_recoveries() == []
        assert await uow.disputes.list_for_booking(new_id("tn"), booking.id) == []
