"""Stripe redelivers what was applied already: the inbox answers it before Stripe is asked.

After an outage Stripe redelivers days of events at once (issue 19, item 2). An event whose
id is in the inbox is answered `duplicate` from the unit of work its check reads in,
without asking the gateway again (latency, and Stripe's rate limits), and changes nothing.
The inbox only shortcuts the check: an event parked before its payment is in the inbox too,
and is still checked with the gateway when its payment lands, also when only a redelivery
of that payment's completion comes after a drain that could not finish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from adapters.fake_stripe.gateway import FakeGateway
from adapters.stripe_wire.signature import sign
from application.payment_events import Outcome
from application.ports.gateway import PaymentGateway, WebhookEndpoint
from application.ports.gateway_events import CheckoutCompleted, CheckoutExpired, PaymentEvent
from domain.booking import BookingStatus
from domain.ledger import EntryKind
from tests.support.gateway_doubles import PaymentsUnreadable
from tests.support.pool_watch import PoolWatch, WatchedGateway
from tests.unit.application.conftest import (
    App,
    Shop,
    build_app,
    open_shop,
    paid_unheard,
)

COMPLETED = "checkout.session.completed"
REFUNDED = "charge.refunded"
SECRETS = {WebhookEndpoint.PLATFORM: "whsec_platform", WebhookEndpoint.CONNECT: "whsec_connect"}


def _asked(
    watch: PoolWatch, outage: list[PaymentsUnreadable]
) -> Callable[[FakeGateway], PaymentGateway]:
    """The fake gateway, every call Bookpay makes to it listed in `watch.calls`; its
    payments unreadable while `outage[0].down`."""

    def wrap(fake: FakeGateway) -> PaymentGateway:
        outage.append(PaymentsUnreadable(fake))
        return WatchedGateway(outage[0], watch)

    return wrap


async def _sent(app: App, event_type: str) -> PaymentEvent:
    """The event of that type the fake sent, as Bookpay reads it off the wire."""
    (sent,) = [e for e in await app.gateway.list_events() if e.type == event_type]
    header = sign(sent.payload, SECRETS[sent.endpoint], app.clock.now())
    return app.gateway.parse_webhook(sent.payload, header, sent.endpoint)


async def _ledger(app: App, shop: Shop, booking_id: str) -> list[tuple[EntryKind, int]]:
    async with app.db.unit_of_work() as uow:
        entries = await uow.ledger.list_for_booking(shop.tenant_id, booking_id)
    return sorted((e.kind, e.amount.amount) for e in entries)


async def test_a_redelivered_completion_already_applied_asks_the_gateway_nothing() -> None:
    watch, outage = PoolWatch(), list[PaymentsUnreadable]()
    app = build_app(_asked(watch, outage))
    shop = await open_shop(app)
    booking_id, _ = await paid_unheard(app, shop)
    completion = await _sent(app, COMPLETED)
    assert (await app.apply_event(completion)).outcome is Outcome.APPLIED
    assert "retrieve_checkout_session" in watch.calls  # the first delivery is checked
    ledger = await _ledger(app, shop, booking_id)
    seats = await app.seats_available(shop.tenant_id, shop.slot_id)
    watch.calls.clear()

    redelivered = await app.apply_event(completion)

    assert redelivered.outcome is Outcome.DUPLICATE
    assert watch.calls == []
    assert (await app.booking(booking_id)).status is BookingStatus.CONFIRMED
    assert await _ledger(app, shop, booking_id) == ledger
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == seats


async def test_a_redelivered_parked_refund_is_still_checked_when_its_payment_lands() -> None:
    watch, outage = PoolWatch(), list[PaymentsUnreadable]()
    app = build_app(_asked(watch, outage))
    shop = await open_shop(app)
    booking_id, payment = await paid_unheard(app, shop)
    await app.refund_in_dashboard(booking_id, payment, 1000, "dashboard-refund-1")
    refund = await _sent(app, REFUNDED)
    assert (await app.apply_event(refund)).outcome is Outcome.PARKED
    watch.calls.clear()

    assert (await app.apply_event(refund)).outcome is Outcome.DUPLICATE
    assert watch.calls == []  # answered by the inbox
    assert (await app.apply_event(await _sent(app, COMPLETED))).outcome is Outcome.APPLIED

    assert "retrieve_payment" in watch.calls  # the parked refund is checked all the same
    assert (await app.booking(booking_id)).refunded.customer_refund.amount == 1000
    assert (EntryKind.REFUND, 1000) in await _ledger(app, shop, booking_id)


async def test_a_redelivered_completion_drains_what_its_first_delivery_left_parked() -> None:
    watch, outage = PoolWatch(), list[PaymentsUnreadable]()
    app = build_app(_asked(watch, outage))
    shop = await open_shop(app)
    # The drain after the payment's commit cannot check the refund.
    booking_id, completion = await _paid_with_a_refund_left_parked(app, shop, outage)
    watch.calls.clear()

    redelivered = await app.apply_event(completion)

    assert redelivered.outcome is Outcome.DUPLICATE
    assert "retrieve_checkout_session" not in watch.calls  # the completion is not asked again
    assert "retrieve_payment" in watch.calls  # the parked refund is
    assert (await app.booking(booking_id)).refunded.customer_refund.amount == 1000
    assert (EntryKind.REFUND, 1000) in await _ledger(app, shop, booking_id)


async def _paid_with_a_refund_left_parked(
    app: App,
    shop: Shop,
    outage: list[PaymentsUnreadable],
    first: Callable[[CheckoutCompleted], PaymentEvent] = lambda completion: completion,
) -> tuple[str, PaymentEvent]:
    """A paid booking whose parked refund its first delivery could not drain (Stripe's
    payments unreadable then): (booking id, the event delivered, which `first` makes of
    the completion Stripe sent)."""
    booking_id, payment = await paid_unheard(app, shop)
    await app.refund_in_dashboard(booking_id, payment, 1000, "dashboard-refund-1")
    assert (await app.apply_event(await _sent(app, REFUNDED))).outcome is Outcome.PARKED
    completion = await _sent(app, COMPLETED)
    assert isinstance(completion, CheckoutCompleted)
    delivered = first(completion)
    outage[0].down = True
    assert (await app.apply_event(delivered)).outcome is Outcome.APPLIED
    assert (await app.booking(booking_id)).refunded.customer_refund.amount == 0
    outage[0].down = False
    return booking_id, delivered


def _expiry_of(completion: CheckoutCompleted) -> CheckoutExpired:
    """An expiry of the session the completion names, under an event id of its own."""
    return CheckoutExpired(
        event_id="evt_expired_of_a_paid_session",
        created_at=completion.created_at,
        account_id=completion.account_id,
        session_id=completion.session_id,
        booking_id=completion.booking_id,
        amount_total=completion.amount_total,
    )


async def test_a_redelivered_event_its_check_made_a_payment_drains_what_was_parked() -> None:
    """An expiry of a session Stripe shows paid is applied as the completion it is; when
    its redelivery is answered from the inbox, the payment's parked refund still follows,
    found by the booking the session paid, not by the event's own type."""
    watch, outage = PoolWatch(), list[PaymentsUnreadable]()
    app = build_app(_asked(watch, outage))
    shop = await open_shop(app)
    booking_id, expired = await _paid_with_a_refund_left_parked(app, shop, outage, _expiry_of)
    watch.calls.clear()

    assert (await app.apply_event(expired)).outcome is Outcome.DUPLICATE

    assert "retrieve_checkout_session" not in watch.calls
    assert (await app.booking(booking_id)).refunded.customer_refund.amount == 1000
    assert (EntryKind.REFUND, 1000) in await _ledger(app, shop, booking_id)


async def test_a_redelivered_completion_naming_no_payment_drains_the_bookings() -> None:
    """A duplicate's payload without its payment intent: the payment drained for is the
    one the booking was paid with."""
    watch, outage = PoolWatch(), list[PaymentsUnreadable]()
    app = build_app(_asked(watch, outage))
    shop = await open_shop(app)
    booking_id, completion = await _paid_with_a_refund_left_parked(app, shop, outage)
    assert isinstance(completion, CheckoutCompleted)

    without = replace(completion, payment_intent_id=None)
    assert (await app.apply_event(without)).outcome is Outcome.DUPLICATE

    assert (await app.booking(booking_id)).refunded.customer_refund.amount == 1000
