"""Reconciling money: which bookings are compared with the gateway, and what happens when
the gateway cannot be asked (application/reconcile_payments.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from application.errors import GatewayInvalidRequest, GatewayUnavailable
from application.ports.gateway import PaymentSnapshot
from domain.booking import PaymentStatus
from tests.unit.application.conftest import App, build_app, checkout, open_shop


async def _paid(app: App) -> tuple[str, str]:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    paid = await app.gateway.pay(booking.gateway_session_id)
    assert paid.session.payment_intent_id is not None
    return booking.id, paid.session.payment_intent_id


async def test_only_bookings_created_within_the_window_are_compared(app: App) -> None:
    booking_id, payment = await _paid(app)
    app.clock.advance(timedelta(days=2))
    app.drop_deliveries()
    await app.gateway.refund_payment(payment, amount=1000)

    recent = await app.reconcile()  # the periodic job looks one day back
    assert recent.payments_repaired == []
    assert (await app.booking(booking_id)).payment_status is PaymentStatus.PAID

    further = await app.reconcile(payments_days=7)

    assert [line.split(":")[0] for line in further.payments_repaired] == [booking_id]
    booking = await app.booking(booking_id)
    assert booking.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert booking.refunded.customer_refund.amount == 1000
    assert further.for_a_human == []


class _PaymentsUnreadable:
    """The fake gateway, but Stripe does not answer when asked about a payment."""

    def __init__(self, fake: object) -> None:
        self._fake = fake

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fake, name)

    async def retrieve_payment(self, payment_id: str, **_: Any) -> PaymentSnapshot:
        raise GatewayUnavailable("Stripe did not answer")


async def test_a_payment_the_gateway_cannot_show_is_left_for_later_unchanged() -> None:
    app = build_app(_PaymentsUnreadable)
    booking_id, payment = await _paid(app)
    app.drop_deliveries()
    await app.gateway.refund_payment(payment, amount=1000)

    report = await app.reconcile()

    assert booking_id in report.unreachable
    assert report.payments_repaired == []
    assert report.for_a_human == []
    assert (await app.booking(booking_id)).payment_status is PaymentStatus.PAID


class _PaymentsUnknown(_PaymentsUnreadable):
    """The fake gateway, but Stripe knows no charge of any payment."""

    async def retrieve_payment(self, payment_id: str, **_: Any) -> PaymentSnapshot:
        raise GatewayInvalidRequest(f"No such payment_intent: '{payment_id}'")


async def test_a_payment_the_gateway_does_not_know_is_left_for_a_human() -> None:
    app = build_app(_PaymentsUnknown)
    booking_id, payment = await _paid(app)

    report = await app.reconcile()

    assert [line.split(":")[0] for line in report.for_a_human] == [booking_id]
    assert payment in report.for_a_human[0]
    assert booking_id not in report.unreachable
