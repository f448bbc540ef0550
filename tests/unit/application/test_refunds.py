"""Refunds, cancellations and payments made elsewhere, over the in-memory repositories and
the fake gateway, which delivers charge.refunded *before* the refund call returns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from application.cancel_booking import CancelCommand
from application.errors import GatewayInvalidRequest
from application.ports.gateway import RefundRequest
from application.refund_booking import RefundCommand
from domain.booking import Booking, BookingStatus, CancelledBy, PaymentStatus
from domain.errors import RefundExceedsPaid
from domain.money import Money
from tests.unit.application.conftest import (
    App,
    Shop,
    build_app,
    checkout,
    open_shop,
    paid_unheard,
)

pytestmark = pytest.mark.refunds


async def _paid(app: App, shop: Shop) -> Booking:
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id)
    paid = await app.booking(started.booking_id)
    assert paid.status is BookingStatus.CONFIRMED
    return paid


async def _ledger(app: App, booking: Booking) -> list[tuple[str, int, str]]:
    async with app.db.unit_of_work() as uow:
        entries = await uow.ledger.list_for_booking(booking.tenant_id, booking.id)
    return sorted((e.kind.value, e.amount.amount, e.gateway_ref) for e in entries)


async def _refund_events(app: App) -> list[str]:
    return [e.id for e in await app.gateway.list_events() if e.type == "charge.refunded"]


async def test_a_tenant_cancellation_is_one_refund_although_its_event_came_first(
    app: App,
) -> None:
    shop = await open_shop(app)
    booking = await _paid(app, shop)

    cancelled = await app.cancel(
        CancelCommand(booking.id, CancelledBy.TENANT, tenant_id=shop.tenant_id)
    )

    assert cancelled.status is BookingStatus.CANCELLED
    assert len(await _refund_events(app)) == 1  # it arrived while the refund was reserved
    (refund,) = cancelled.refunds
    assert refund.refund_id.startswith("re_")
    assert not refund.pending
    assert (refund.split.customer_refund.amount, refund.split.application_fee_refund.amount) == (
        4230,
        230,
    )
    assert [(k, a) for k, a, _ in await _ledger(app, booking)] == [
        ("application_fee", 230),
        ("application_fee_refund", 230),
        ("charge", 4230),
        ("refund", 4230),
    ]
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 3

    # The event delivered again, and the cancellation retried: nothing changes.
    for event_id in await _refund_events(app):
        await app.gateway.resend_event(event_id)
    again = await app.cancel(
        CancelCommand(booking.id, CancelledBy.TENANT, tenant_id=shop.tenant_id)
    )
    assert again.refunds == cancelled.refunds
    assert len(await _ledger(app, booking)) == 4


async def test_partial_refunds_add_up_and_never_pass_what_was_paid(app: App) -> None:
    shop = await open_shop(app)
    booking = await _paid(app, shop)

    first = await app.refund(RefundCommand(shop.tenant_id, booking.id, Money(1000, "usd")))
    rest = await app.refund(RefundCommand(shop.tenant_id, booking.id))

    assert (first.status, first.payment_status) == (
        BookingStatus.CONFIRMED,
        PaymentStatus.PARTIALLY_REFUNDED,
    )
    assert rest.refunded.customer_refund == Money(4230, "usd")
    assert rest.refunded.application_fee_refund == Money(230, "usd")
    assert rest.refundable.is_zero
    with pytest.raises(RefundExceedsPaid):
        await app.refund(RefundCommand(shop.tenant_id, booking.id, Money(100, "usd")))


async def test_concurrent_refunds_refund_exactly_what_was_paid(app: App) -> None:
    shop = await open_shop(app)
    booking = await _paid(app, shop)

    results = await asyncio.gather(
        *(
            app.refund(RefundCommand(shop.tenant_id, booking.id, Money(1000, "usd")))
            for _ in range(6)
        ),
        return_exceptions=True,
    )

    refused = [r for r in results if isinstance(r, RefundExceedsPaid)]
    assert len(refused) == 2  # 4 × 10.00 fit in 42.30, the 5th and 6th do not
    final = await app.booking(booking.id)
    assert final.refunded.customer_refund == Money(4000, "usd")
    assert len(final.refunds) == 4
    assert not any(r.pending for r in final.refunds)


async def test_a_refund_made_in_the_dashboard_is_recorded_once(app: App) -> None:
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    assert booking.payment_intent_id is not None

    await app.refund_in_dashboard(booking.id, booking.payment_intent_id, 2115, "dashboard-1")
    for event_id in await _refund_events(app):
        await app.gateway.resend_event(event_id)

    refunded = await app.booking(booking.id)
    assert refunded.status is BookingStatus.CONFIRMED
    assert refunded.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    (refund,) = refunded.refunds
    assert refund.split.customer_refund == Money(2115, "usd")
    assert refund.split.application_fee_refund == Money(115, "usd")  # proportional policy
    ledger = await _ledger(app, booking)
    assert [(k, a) for k, a, _ in ledger] == [
        ("application_fee", 230),
        ("application_fee_refund", 115),
        ("charge", 4230),
        ("refund", 2115),
    ]
    # Keyed by the refund the gateway lists (the charge is fetched, whatever the event says).
    assert (
        ledger[3][2]
        == (await app.gateway.retrieve_payment(booking.payment_intent_id)).refunds[0].refund_id
    )
    # The fee refund Stripe reported, keyed by the payment and the fee's amount_refunded.
    assert ledger[1][2] == f"{booking.payment_intent_id}@application_fee_refunded:115"

    # A later tenant cancellation gives back only what is left.
    cancelled = await app.cancel(
        CancelCommand(booking.id, CancelledBy.TENANT, tenant_id=shop.tenant_id)
    )
    assert cancelled.status is BookingStatus.CANCELLED
    assert cancelled.refunded.customer_refund == Money(4230, "usd")
    assert cancelled.refunded.application_fee_refund == Money(230, "usd")


async def test_a_dispute_is_recorded_once(app: App) -> None:
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    assert booking.payment_intent_id is not None

    dispute_id = await app.gateway.open_dispute(booking.payment_intent_id, reason="fraudulent")
    for event in await app.gateway.list_events():
        if event.type == "charge.dispute.created":
            await app.gateway.resend_event(event.id)

    async with app.db.unit_of_work() as uow:
        disputes = await uow.disputes.list_for_booking(shop.tenant_id, booking.id)
    assert [(d.dispute_id, d.amount, d.reason) for d in disputes] == [
        (dispute_id, Money(4230, "usd"), "fraudulent")
    ]


async def _resend(app: App, event_type: str) -> None:
    (event,) = [e for e in await app.gateway.list_events() if e.type == event_type]
    await app.gateway.resend_event(event.id)


async def test_a_refund_reported_before_its_payment_waits_for_the_payment(app: App) -> None:
    shop = await open_shop(app)
    booking_id, payment = await paid_unheard(app, shop)
    await app.refund_in_dashboard(booking_id, payment, 1000, "dashboard-early")
    app.drop_deliveries(False)

    await _resend(app, "charge.refunded")  # before the completion: parked
    assert (await app.booking(booking_id)).status is BookingStatus.PENDING_PAYMENT
    await _resend(app, "checkout.session.completed")
    await _resend(app, "charge.refunded")  # a repeat changes nothing
    await _resend(app, "checkout.session.completed")

    refunded = await app.booking(booking_id)
    assert refunded.status is BookingStatus.CONFIRMED
    assert refunded.payment_status is not PaymentStatus.PAID
    assert refunded.payment_intent_id == payment
    (refund,) = refunded.refunds
    assert refund.split.customer_refund == Money(1000, "usd")
    assert [(k, a) for k, a, _ in await _ledger(app, refunded)] == [
        ("application_fee", 230),
        ("application_fee_refund", 54),  # 230 × 1000 / 4230, rounded
        ("charge", 4230),
        ("refund", 1000),
    ]
    async with app.db.unit_of_work() as uow:
        assert await uow.parked_events.take(payment) == []


async def test_a_dispute_reported_before_its_payment_waits_for_the_payment(app: App) -> None:
    shop = await open_shop(app)
    booking_id, payment = await paid_unheard(app, shop)
    dispute_id = await app.gateway.open_dispute(payment, reason="fraudulent")
    app.drop_deliveries(False)

    await _resend(app, "charge.dispute.created")
    await _resend(app, "checkout.session.completed")

    booking = await app.booking(booking_id)
    assert booking.status is BookingStatus.CONFIRMED
    async with app.db.unit_of_work() as uow:
        disputes = await uow.disputes.list_for_booking(shop.tenant_id, booking_id)
    assert [(d.dispute_id, d.amount) for d in disputes] == [(dispute_id, Money(4230, "usd"))]


class _RefundFails:
    """The fake gateway, but its refunds fail with `error`, before or after Stripe acted."""

    def __init__(self, fake: FakeGateway, error: Exception, *, after: bool = False) -> None:
        self._fake = fake
        self._error = error
        self._after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fake, name)

    async def refund(self, request: RefundRequest) -> Any:
        if self._after:
            await self._fake.refund(request)
        raise self._error


async def test_a_refused_refund_releases_what_it_reserved() -> None:
    app = build_app(lambda fake: _RefundFails(fake, GatewayInvalidRequest("no")))
    shop = await open_shop(app)
    booking = await _paid(app, shop)

    with pytest.raises(GatewayInvalidRequest):
        await app.refund(RefundCommand(shop.tenant_id, booking.id))

    after = await app.booking(booking.id)
    assert after.refunds == ()
    assert after.status is BookingStatus.CONFIRMED
