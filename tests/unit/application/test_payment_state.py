"""Payment state converges to the truth: holds expire, late and lost events, gateway faults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from adapters.system.ids import RandomIds
from application.errors import GatewayError, GatewayUnavailable
from application.ports.gateway import CheckoutRequest, CheckoutSession
from application.start_checkout import StartCheckout
from domain.booking import BookingStatus, CancelledBy
from domain.ledger import EntryKind
from tests.unit.application.conftest import BASE, App, build_app, checkout, kept_in, open_shop


async def _ledger(app: App, booking_id: str, tenant_id: str) -> list[tuple[str, int]]:
    async with app.db.unit_of_work() as uow:
        entries = await uow.ledger.list_for_booking(tenant_id, booking_id)
    return sorted((e.kind.value, e.amount.amount) for e in entries)


async def test_paying_confirms_once_however_often_the_event_arrives(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None

    await app.gateway.pay(booking.gateway_session_id)
    events = await app.gateway.list_events()
    completed = next(e for e in events if e.type == "checkout.session.completed")
    for _ in range(3):
        await app.gateway.resend_event(completed.id)

    assert (await app.booking(started.booking_id)).status is BookingStatus.CONFIRMED
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1
    assert await _ledger(app, started.booking_id, shop.tenant_id) == [
        ("application_fee", 230),
        ("charge", 4230),
    ]


async def test_the_sweeper_expires_a_lapsed_hold_and_the_session_with_it(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1

    report = await app.sweep()
    assert report.expired == []  # the hold has not lapsed yet

    app.clock.advance(timedelta(minutes=32))
    report = await app.sweep()

    booking = await app.booking(started.booking_id)
    assert booking.status is BookingStatus.EXPIRED
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 3
    assert booking.gateway_session_id is not None
    with pytest.raises(GatewayError):
        await app.gateway.pay(booking.gateway_session_id)  # the customer can no longer pay
    assert started.booking_id in report.expired or started.booking_id in report.skipped


async def test_a_payment_whose_webhook_was_lost_is_applied_by_the_sweeper(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    app.drop_deliveries()
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id)
    assert (await app.booking(started.booking_id)).status is BookingStatus.PENDING_PAYMENT

    app.clock.advance(timedelta(minutes=32))
    report = await app.sweep()

    assert report.completed == [started.booking_id]
    assert (await app.booking(started.booking_id)).status is BookingStatus.CONFIRMED
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1

    app.drop_deliveries(False)
    completed = next(
        e for e in await app.gateway.list_events() if e.type == "checkout.session.completed"
    )
    await app.gateway.resend_event(completed.id)  # Stripe's own retry arrives at last
    assert await _ledger(app, started.booking_id, shop.tenant_id) == [
        ("application_fee", 230),
        ("charge", 4230),
    ]


async def _expire_without_the_gateway(app: App, booking_id: str) -> None:
    async with app.db.unit_of_work() as uow:
        booking = await uow.bookings.find_by_id(booking_id)
        assert booking is not None
        await uow.bookings.update(booking.expire())
        await uow.slots.release_hold(booking.tenant_id, booking.slot_id, booking.seats)
        await uow.commit()


async def _pay_while_webhooks_are_lost(app: App, booking_id: str) -> str:
    """The customer pays; the completion event is lost for now. Its event id."""
    booking = await app.booking(booking_id)
    assert booking.gateway_session_id is not None
    app.drop_deliveries()
    await app.gateway.pay(booking.gateway_session_id)
    app.drop_deliveries(False)
    events = await app.gateway.list_events()
    return next(e.id for e in events if e.type == "checkout.session.completed")


async def test_a_late_payment_confirms_when_the_seats_are_still_free(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    event_id = await _pay_while_webhooks_are_lost(app, started.booking_id)
    await _expire_without_the_gateway(app, started.booking_id)

    await app.gateway.resend_event(event_id)

    assert (await app.booking(started.booking_id)).status is BookingStatus.CONFIRMED
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1


async def test_a_late_payment_for_seats_sold_again_is_refunded_in_full(app: App) -> None:
    shop = await open_shop(app, max_seats_per_booking=3)  # whole slots sell
    started = await app.start_checkout(checkout(shop))
    event_id = await _pay_while_webhooks_are_lost(app, started.booking_id)
    await _expire_without_the_gateway(app, started.booking_id)
    await app.start_checkout(checkout(shop, seats=3))  # someone else takes every seat

    await app.gateway.resend_event(event_id)
    await app.gateway.resend_event(event_id)

    booking = await app.booking(started.booking_id)
    assert booking.status is BookingStatus.CANCELLED
    assert booking.cancelled_by is CancelledBy.SYSTEM
    assert booking.refundable.is_zero
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 0  # never overbooked
    kinds = await _ledger(app, started.booking_id, shop.tenant_id)
    assert kinds == [
        (EntryKind.APPLICATION_FEE.value, 230),
        (EntryKind.APPLICATION_FEE_REFUND.value, 230),
        (EntryKind.CHARGE.value, 4230),
        (EntryKind.REFUND.value, 4230),
    ]


async def test_a_late_payment_refunded_in_part_first_gets_back_only_the_rest(app: App) -> None:
    """The dashboard refund's event came before the late completion: it waited for it, and
    the automatic refund then gives back only what the customer has not had back yet."""
    shop = await open_shop(app, max_seats_per_booking=3)  # whole slots sell
    started = await app.start_checkout(checkout(shop))
    event_id = await _pay_while_webhooks_are_lost(app, started.booking_id)
    await _expire_without_the_gateway(app, started.booking_id)
    await app.start_checkout(checkout(shop, seats=3))
    session_id = (await app.booking(started.booking_id)).gateway_session_id
    assert session_id is not None
    session = await app.gateway.retrieve_checkout_session(session_id)
    assert session.payment_intent_id is not None
    # Delivered at once: parked, no booking is paid with this payment yet.
    await app.refund_in_dashboard(
        started.booking_id, session.payment_intent_id, 1000, "dashboard-before-the-completion"
    )

    await app.gateway.resend_event(event_id)

    booking = await app.booking(started.booking_id)
    assert booking.status is BookingStatus.CANCELLED
    assert booking.refundable.is_zero
    assert sorted(r.split.customer_refund.amount for r in booking.refunds) == [1000, 3230]
    assert await _ledger(app, started.booking_id, shop.tenant_id) == [
        (EntryKind.APPLICATION_FEE.value, 230),
        (EntryKind.APPLICATION_FEE_REFUND.value, 54),
        (EntryKind.APPLICATION_FEE_REFUND.value, 176),
        (EntryKind.CHARGE.value, 4230),
        (EntryKind.REFUND.value, 1000),
        (EntryKind.REFUND.value, 3230),
    ]


class FlakyGateway:
    """The fake gateway, failing its next checkout calls as configured."""

    def __init__(self, inner: FakeGateway) -> None:
        self._inner = inner
        self.fail_before = 0  # calls that fail without reaching the gateway
        self.fail_after = 0  # calls that succeed at the gateway, then time out
        self.sessions: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        if self.fail_before:
            self.fail_before -= 1
            raise GatewayUnavailable("the gateway timed out")
        session = await self._inner.create_checkout_session(request)
        self.sessions.append(session.session_id)
        if self.fail_after:
            self.fail_after -= 1
            raise GatewayUnavailable("the gateway timed out after creating the session")
        return session


async def test_a_failed_checkout_without_a_key_gives_the_seats_back_at_once() -> None:
    flaky: list[FlakyGateway] = []
    app = build_app(kept_in(flaky, FlakyGateway))
    shop = await open_shop(app)
    flaky[0].fail_before = 1

    with pytest.raises(GatewayUnavailable):
        await app.start_checkout(checkout(shop))

    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 3


@pytest.mark.parametrize("failure", ["fail_before", "fail_after"])
async def test_a_retry_with_the_same_key_resumes_instead_of_holding_twice(failure: str) -> None:
    flaky: list[FlakyGateway] = []
    app = build_app(kept_in(flaky, FlakyGateway))
    shop = await open_shop(app)
    setattr(flaky[0], failure, 1)

    with pytest.raises(GatewayUnavailable):
        await app.start_checkout(checkout(shop, key="order-7"))
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1  # held for the retry

    first = await app.start_checkout(checkout(shop, key="order-7"))
    # A retry whose first answer was lost (the HTTP edge replays a stored answer itself).
    again = await app.start_checkout(checkout(shop, key="order-7"))

    assert (first.booking_id, first.checkout_url) == (again.booking_id, again.checkout_url)
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1
    assert len(set(flaky[0].sessions)) == 1  # one Checkout Session, however many calls
    booking = await app.booking(first.booking_id)
    assert booking.gateway_session_id == flaky[0].sessions[0]


async def test_a_delayed_payment_keeps_the_seats_past_the_hold_until_it_settles(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id, "delayed")
    assert (await app.booking(started.booking_id)).status is BookingStatus.AWAITING_ASYNC_PAYMENT

    app.clock.advance(timedelta(hours=2))
    await app.sweep()
    assert (await app.booking(started.booking_id)).status is BookingStatus.AWAITING_ASYNC_PAYMENT
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1

    await app.gateway.fail_delayed_payment(booking.gateway_session_id)
    assert (await app.booking(started.booking_id)).status is BookingStatus.PAYMENT_FAILED
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 3


class FailingCommits:
    """A unit-of-work factory whose chosen commits fail, as if the database went away."""

    def __init__(self, factory: Any, failing: set[int]) -> None:
        self._factory = factory
        self._failing = failing
        self.commits = 0

    def __call__(self) -> Any:
        outer = self
        inner = self._factory()

        class Unit:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            async def __aenter__(self) -> Any:
                await inner.__aenter__()
                return self

            async def __aexit__(self, *exc: object) -> None:
                await inner.__aexit__(*exc)

            async def commit(self) -> None:
                outer.commits += 1
                if outer.commits in outer._failing:
                    raise ConnectionResetError("the database went away")
                await inner.commit()

        return Unit()


async def test_a_database_failure_after_the_gateway_call_reuses_the_same_session() -> None:
    flaky: list[FlakyGateway] = []
    app = build_app(kept_in(flaky, FlakyGateway))
    shop = await open_shop(app)
    commits = FailingCommits(app.db.unit_of_work, failing={2})  # the commit after the gateway
    start = StartCheckout(
        commits, flaky[0], RandomIds(), app.clock, hold=timedelta(minutes=30), public_base_url=BASE
    )

    with pytest.raises(ConnectionResetError):
        await start(checkout(shop, key="order-9"))
    retried = await start(checkout(shop, key="order-9"))

    assert len(flaky[0].sessions) == 2  # the gateway was asked twice ...
    assert len(set(flaky[0].sessions)) == 1  # ... and answered with one session
    booking = await app.booking(retried.booking_id)
    assert booking.gateway_session_id == flaky[0].sessions[0]
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1
