"""Refunds converge to what the gateway did (issue 12, "phantom refunds").

A refund reserved while the gateway gives no answer is *unknown*: it is never counted as
refunded; a retry, a new request on the booking and reconciliation each re-send it with its
own idempotency key first and settle or release it from the gateway's answer. Over the
in-memory repositories and the fake gateway behind a link that can go down.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from application.cancel_booking import CancelCommand
from application.errors import GatewayUnavailable
from application.refund_booking import RefundCommand
from domain.booking import Booking, BookingStatus, CancelledBy
from domain.errors import RefundExceedsPaid
from domain.money import Money
from tests.support.gateway_doubles import GatewayLink
from tests.unit.application.conftest import App, Shop, build_app, checkout, open_shop
from tests.unit.application.test_payment_state import (
    _expire_without_the_gateway,
    _pay_while_webhooks_are_lost,
)

pytestmark = pytest.mark.refunds


def _app() -> tuple[App, GatewayLink]:
    links: list[GatewayLink] = []

    def wrap(fake: FakeGateway) -> GatewayLink:
        links.append(GatewayLink(fake))
        return links[0]

    app = build_app(wrap)
    return app, links[0]


async def _paid(app: App, shop: Shop) -> Booking:
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id)
    return await app.booking(started.booking_id)


async def _made_at_gateway(app: App, booking: Booking) -> list[int]:
    """The amounts of the refunds the gateway made of the booking's payment."""
    assert booking.payment_intent_id is not None
    made = await app.gateway.list_refunds(booking.payment_intent_id)
    return sorted(r.amount.amount for r in made)


async def _ledger_refunds(app: App, booking: Booking) -> list[int]:
    async with app.db.unit_of_work() as uow:
        entries = await uow.ledger.list_for_booking(booking.tenant_id, booking.id)
    return sorted(e.amount.amount for e in entries if e.kind.value == "refund")


def _tenant_cancel(shop: Shop, booking: Booking) -> CancelCommand:
    return CancelCommand(booking.id, CancelledBy.TENANT, tenant_id=shop.tenant_id)


@pytest.mark.parametrize("lands", [False, True], ids=["never-reached-stripe", "answer-lost"])
async def test_a_cancel_the_gateway_did_not_answer_is_retried_into_exactly_one_refund(
    lands: bool,
) -> None:
    app, link = _app()
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    link.down, link.lands = True, lands

    for _ in range(2):  # the client retries while the gateway is still unreachable
        with pytest.raises(GatewayUnavailable):
            await app.cancel(_tenant_cancel(shop, booking))
        during = await app.booking(booking.id)
        assert during.status is BookingStatus.CONFIRMED  # not cancelled before Stripe said so
        assert during.refunded.customer_refund.is_zero  # an unknown refund is not refunded
        assert len(during.unknown_refunds) == 1  # the retry did not reserve a second one
        assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1

    link.down = False
    cancelled = await app.cancel(_tenant_cancel(shop, booking))

    assert cancelled.status is BookingStatus.CANCELLED
    assert cancelled.refunded.customer_refund == Money(4230, "usd")
    assert cancelled.unknown_refunds == ()
    assert await _made_at_gateway(app, booking) == [4230]
    assert await _ledger_refunds(app, booking) == [4230]
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 3
    with pytest.raises(RefundExceedsPaid):  # everything went back: nothing is left, truly
        await app.refund(RefundCommand(shop.tenant_id, booking.id))
    assert await _made_at_gateway(app, booking) == [4230]


async def test_a_new_request_re_sends_the_unknown_refund_before_deciding_its_own() -> None:
    app, link = _app()
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    link.down = True
    with pytest.raises(GatewayUnavailable):
        await app.refund(RefundCommand(shop.tenant_id, booking.id, Money(1000, "usd")))
    unknown = await app.booking(booking.id)
    assert unknown.refundable == Money(3230, "usd")  # it still holds its money back

    link.down = False
    cancelled = await app.cancel(_tenant_cancel(shop, booking))

    assert cancelled.status is BookingStatus.CANCELLED
    assert await _made_at_gateway(app, booking) == [1000, 3230]
    assert await _ledger_refunds(app, booking) == [1000, 3230]
    assert cancelled.refunded.customer_refund == Money(4230, "usd")


async def test_reconciliation_re_sends_a_refund_a_crash_left_unknown_and_cancels() -> None:
    app, link = _app()
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    link.down = True  # the process dies before Stripe answers: the reservation stays unknown
    with pytest.raises(GatewayUnavailable):
        await app.cancel(_tenant_cancel(shop, booking))

    still_down = await app.reconcile()
    assert booking.id in still_down.unreachable
    assert still_down.refunds_settled == []
    assert len((await app.booking(booking.id)).unknown_refunds) == 1

    link.down = False
    report = await app.reconcile()

    (refund_id,) = report.refunds_settled
    after = await app.booking(booking.id)
    assert [(r.refund_id, r.pending) for r in after.refunds] == [(refund_id, False)]
    assert after.status is BookingStatus.CANCELLED  # the cancellation it was reserved for
    assert after.cancelled_by is CancelledBy.TENANT
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 3
    assert await _made_at_gateway(app, booking) == [4230]
    assert await _ledger_refunds(app, booking) == [4230]
    again = await app.reconcile()
    assert again.refunds_settled == []
    assert booking.id not in again.unreachable
    assert await _made_at_gateway(app, booking) == [4230]


async def test_a_re_sent_refund_the_gateway_refuses_is_released() -> None:
    app, link = _app()
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    link.down = True
    with pytest.raises(GatewayUnavailable):
        await app.refund(RefundCommand(shop.tenant_id, booking.id, Money(1000, "usd")))

    link.down, link.refused = False, True
    report = await app.reconcile()

    (released,) = report.refunds_released
    after = await app.booking(booking.id)
    assert after.refunds == ()
    assert after.refundable == Money(4230, "usd")
    assert released.startswith(f"bookpay-refund-{booking.id}-")


async def test_concurrent_retries_and_reconciliation_settle_an_unknown_refund_once() -> None:
    app, link = _app()
    shop = await open_shop(app)
    booking = await _paid(app, shop)
    link.down, link.lands = True, True
    with pytest.raises(GatewayUnavailable):
        await app.cancel(_tenant_cancel(shop, booking))
    link.down = False

    await asyncio.gather(
        app.cancel(_tenant_cancel(shop, booking)),
        app.cancel(_tenant_cancel(shop, booking)),
        app.reconcile(),
        app.refund(RefundCommand(shop.tenant_id, booking.id, Money(100, "usd"))),
        return_exceptions=True,
    )

    after = await app.booking(booking.id)
    assert after.status is BookingStatus.CANCELLED
    assert after.refunded.customer_refund == Money(4230, "usd")
    assert await _made_at_gateway(app, booking) == [4230]
    assert await _ledger_refunds(app, booking) == [4230]
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 3


async def _paid_late_for_seats_sold_again(app: App, shop: Shop) -> str:
    """A payment whose completion arrives after its hold lapsed and its seats were sold."""
    started = await app.start_checkout(checkout(shop))
    event_id = await _pay_while_webhooks_are_lost(app, started.booking_id)
    await _expire_without_the_gateway(app, started.booking_id)
    await app.start_checkout(checkout(shop, seats=3))  # someone else takes every seat
    return event_id


async def test_a_late_payment_refund_the_gateway_did_not_answer_is_made_by_reconciliation() -> None:
    app, link = _app()
    shop = await open_shop(app, max_seats_per_booking=3)  # whole slots sell
    event_id = await _paid_late_for_seats_sold_again(app, shop)
    link.down = True

    await app.gateway.resend_event(event_id)

    booking = next(iter(await _bookings(app, shop, BookingStatus.CANCELLED)))
    assert booking.cancelled_by is CancelledBy.SYSTEM
    assert booking.refunded.customer_refund.is_zero
    link.down = False
    await app.reconcile()

    refunded = await app.booking(booking.id)
    assert refunded.refunded.customer_refund == Money(4230, "usd")
    assert refunded.unknown_refunds == ()
    assert await _made_at_gateway(app, refunded) == [4230]
    assert await _ledger_refunds(app, refunded) == [4230]
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 0  # never overbooked


async def test_a_late_payment_whose_refund_was_never_reserved_is_refunded_by_reconciliation() -> (
    None
):
    """The process stopped after cancelling the late payment, before reserving its refund."""
    app, link = _app()
    shop = await open_shop(app, max_seats_per_booking=3)  # whole slots sell
    event_id = await _paid_late_for_seats_sold_again(app, shop)
    link.down = True  # the refund never reaches the gateway ...
    await app.gateway.resend_event(event_id)
    (booking,) = await _bookings(app, shop, BookingStatus.CANCELLED)
    async with app.db.unit_of_work() as uow:  # ... and was never even reserved
        stored = await uow.bookings.get(shop.tenant_id, booking.id)
        assert stored is not None
        await uow.bookings.update(replace(stored, refunds=()))
        await uow.commit()
    assert (await app.booking(booking.id)).owes_system_refund
    link.down = False

    report = await app.reconcile()

    refunded = await app.booking(booking.id)
    assert refunded.refunded.customer_refund == Money(4230, "usd")
    assert not refunded.owes_system_refund
    assert [r.refund_id for r in refunded.refunds] == report.refunds_settled
    assert await _made_at_gateway(app, refunded) == [4230]
    assert await _ledger_refunds(app, refunded) == [4230]


async def _bookings(app: App, shop: Shop, status: BookingStatus) -> tuple[Booking, ...]:
    async with app.db.unit_of_work() as uow:
        page = await uow.bookings.list(shop.tenant_id, statuses=(status,))
    return page.items
