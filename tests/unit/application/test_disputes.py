"""Disputes through the use cases: refunds refused while a dispute stands, and a lost
dispute recovered from the tenant once, converging like a refund when the gateway's
answer is lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from application.errors import GatewayUnavailable
from application.payment_events import ApplyPaymentEvent
from application.ports.gateway import TransferReversalRequest, TransferReversalResult
from application.ports.gateway_events import (
    DisputeClosed,
    DisputeCreated,
    DisputeEvent,
    DisputeFunds,
)
from application.refund_booking import RefundCommand
from domain.booking import Booking, BookingStatus, PaymentStatus
from domain.dispute import DisputeBearer, DisputeStatus
from domain.errors import DisputeOpen
from domain.money import Money
from tests.unit.application.conftest import App, Shop, build_app, checkout, kept_in, open_shop

WITHDRAWAL = DisputeFunds("txn_1", Money(-4230, "usd"), Money(1500, "usd"))


class FlakyReversals:
    """The fake gateway, whose transfer reversals can succeed and then time out."""

    def __init__(self, inner: FakeGateway) -> None:
        self._inner = inner
        self.lost_answers = 0
        self.keys: list[str] = []
        self.reversals: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def reverse_transfer(self, request: TransferReversalRequest) -> TransferReversalResult:
        self.keys.append(request.idempotency_key)
        result = await self._inner.reverse_transfer(request)
        self.reversals.add(result.reversal_id)
        if self.lost_answers:
            self.lost_answers -= 1
            raise GatewayUnavailable("the answer was lost on the way back")
        return result


async def _paid(app: App, shop: Shop) -> Booking:
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id)
    paid = await app.booking(started.booking_id)
    assert paid.status is BookingStatus.CONFIRMED
    return paid


async def _dispute(
    app: App,
    kind: type[DisputeEvent],
    booking: Booking,
    status: DisputeStatus,
    minutes: int,
    dispute_id: str | None = None,
) -> DisputeEvent:
    """A dispute of the booking's own charge, opened (and, when `status` says so, closed)
    at the gateway unless `dispute_id` names one it has: every dispute event is checked
    against the gateway's dispute (application/payment_events/aftermath_facts.py). The
    gateway's own deliveries are dropped: the test delivers this event."""
    assert booking.payment_intent_id is not None
    if dispute_id is None:
        app.drop_deliveries()
        dispute_id = await app.gateway.open_dispute(booking.payment_intent_id, reason="fraudulent")
        if status in (DisputeStatus.LOST, DisputeStatus.WON):
            await app.gateway.close_dispute(dispute_id, won=status is DisputeStatus.WON)
    payment = await app.gateway.retrieve_payment(booking.payment_intent_id)
    return kind(
        event_id=f"evt_dp_{kind.__name__}",
        # `minutes` into the last hour: never dated ahead of the clock (such events are
        # ignored, domain.payment.dated_ahead).
        created_at=app.clock.now() - timedelta(hours=1) + timedelta(minutes=minutes),
        account_id=None,
        dispute_id=dispute_id,
        charge_id=payment.charge_id,
        payment_intent_id=booking.payment_intent_id,
        amount=Money(4230, "usd"),
        reason="fraudulent",
        status=status,
        is_charge_refundable=False,
        balance_transactions=(WITHDRAWAL,) if status is DisputeStatus.LOST else (),
    )


async def _recovered(app: App, booking: Booking, dispute_id: str) -> list[tuple[int, str]]:
    async with app.db.unit_of_work() as uow:
        entries = await uow.ledger.list_for_booking(booking.tenant_id, booking.id)
    return [
        (e.amount.amount, e.borne_by.value)
        for e in entries
        if e.kind.value == "dispute" and e.gateway_ref != dispute_id
    ]


async def test_no_refund_is_reserved_while_a_dispute_makes_the_charge_unrefundable(
    app: App,
) -> None:
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    opened = await _dispute(app, DisputeCreated, booking, DisputeStatus.NEEDS_RESPONSE, 1)
    await app.apply_event(opened)

    with pytest.raises(DisputeOpen):
        await app.refund(RefundCommand(shop.tenant_id, booking.id, Money(1000, "usd")))

    disputed = await app.booking(booking.id)
    assert disputed.refunds == ()
    assert disputed.payment_status is PaymentStatus.DISPUTED


async def test_a_lost_dispute_is_recovered_once_even_when_the_answer_is_lost() -> None:
    flaky: list[FlakyReversals] = []
    app = build_app(kept_in(flaky, FlakyReversals))
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    assert booking.payment_intent_id is not None
    # Lost at the gateway (its own events dropped: this test delivers its own).
    app.drop_deliveries()
    dispute_id = await app.gateway.open_dispute(booking.payment_intent_id)
    await app.gateway.close_dispute(dispute_id, won=False)
    flaky[0].lost_answers = 1

    lost = await _dispute(app, DisputeClosed, booking, DisputeStatus.LOST, 30, dispute_id)
    await app.apply_event(lost)

    # The gateway reversed the transfer, but Bookpay never heard: unknown, never "done".
    unknown = await app.booking(booking.id)
    (dispute,) = unknown.disputes
    assert dispute.recovery is not None
    assert dispute.recovery.pending
    assert await _recovered(app, booking, dispute_id) == []

    report = await app.reconcile()
    again = await app.reconcile()

    assert report.disputes_recovered == [dispute_id]
    assert again.disputes_recovered == []
    # Re-sent with the same key: the gateway answered with the reversal it had made.
    assert flaky[0].keys == [f"bookpay-dispute-{dispute_id}"] * 2
    assert len(flaky[0].reversals) == 1
    settled = await app.booking(booking.id)
    (dispute,) = settled.disputes
    assert dispute.recovery is not None
    assert dispute.recovery.reversal_id in flaky[0].reversals
    # Never more than the tenant received of the payment (42.30 less the 2.30 fee).
    assert await _recovered(app, booking, dispute_id) == [(4000, "tenant")]


async def test_the_platform_bears_a_lost_dispute_when_its_setting_says_so() -> None:
    flaky: list[FlakyReversals] = []
    app = build_app(kept_in(flaky, FlakyReversals))
    app.apply_event = ApplyPaymentEvent(
        app.db.unit_of_work, flaky[0], app.clock, dispute_bearer=DisputeBearer.PLATFORM
    )
    shop = await open_shop(app)
    booking = await _paid(app, shop)

    await app.apply_event(await _dispute(app, DisputeClosed, booking, DisputeStatus.LOST, 30))

    lost = await app.booking(booking.id)
    assert lost.payment_status is PaymentStatus.DISPUTED
    assert [d.recovery for d in lost.disputes] == [None]
    assert flaky[0].keys == []
    async with app.db.unit_of_work() as uow:
        (line,) = await uow.ledger.statement(shop.tenant_id)
    assert line.disputes == Money(0, "usd")
