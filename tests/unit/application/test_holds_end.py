"""Ending a hold early, with the in-memory repositories and the fake gateway: the session
is expired before any seat moves, so a gateway that cannot be reached leaves the hold
exactly as it was; a slot cancellation ends every booking on it once."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from application.cancel_booking import CancelCommand
from application.cancel_slot import CancelSlot, SlotCancellation
from application.errors import GatewayUnavailable
from domain.booking import BookingStatus, CancelledBy
from tests.unit.application.conftest import App, Shop, build_app, checkout, open_shop


class UnreachableSessions:
    """The fake gateway, except that sessions can be neither expired nor read while down."""

    def __init__(self, fake: FakeGateway) -> None:
        self._fake = fake
        self.down = False
        # Stripe answers reads but fails every expire (a 500 each time).
        self.expire_fails = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fake, name)

    async def expire_checkout_session(self, session_id: str, **kwargs: Any) -> Any:
        if self.down or self.expire_fails:
            raise GatewayUnavailable("Stripe did not answer")
        return await self._fake.expire_checkout_session(session_id, **kwargs)

    async def retrieve_checkout_session(self, session_id: str, **kwargs: Any) -> Any:
        if self.down:
            raise GatewayUnavailable("Stripe did not answer")
        return await self._fake.retrieve_checkout_session(session_id, **kwargs)


async def _holding_two_of_three() -> tuple[App, Shop, UnreachableSessions, str, CancelCommand]:
    """A slot of 3 with 2 seats held in checkout, behind a gateway that can go down; the
    customer's abandon of that checkout."""
    wrappers: list[UnreachableSessions] = []

    def wrap(fake: FakeGateway) -> UnreachableSessions:
        wrappers.append(UnreachableSessions(fake))
        return wrappers[0]

    app = build_app(gateway_wrapper=wrap)
    shop = await open_shop(app, capacity=3)
    started = await app.start_checkout(checkout(shop, seats=2))
    command = CancelCommand(
        booking_id=started.booking_id, by=CancelledBy.CUSTOMER, token=started.booking_token
    )
    return app, shop, wrappers[0], started.booking_id, command


async def test_an_abandon_the_gateway_cannot_confirm_keeps_the_hold_until_it_can() -> None:
    app, shop, gateway, booking_id, command = await _holding_two_of_three()

    gateway.down = True
    with pytest.raises(GatewayUnavailable):
        await app.cancel(command)
    assert (await app.booking(booking_id)).status is BookingStatus.PENDING_PAYMENT
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1

    gateway.down = False
    abandoned = await app.cancel(command)

    assert abandoned.status is BookingStatus.EXPIRED
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 3


async def test_a_session_that_could_not_be_expired_and_is_still_open_keeps_the_hold() -> None:
    app, shop, gateway, booking_id, command = await _holding_two_of_three()

    gateway.expire_fails = True
    with pytest.raises(GatewayUnavailable):
        await app.cancel(command)

    # The customer could still pay that session: its seats must stay theirs.
    assert (await app.booking(booking_id)).status is BookingStatus.PENDING_PAYMENT
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1


async def test_cancelling_a_slot_twice_refunds_each_payment_once() -> None:
    app = build_app()
    shop = await open_shop(app, capacity=5)
    paid = await app.start_checkout(checkout(shop, seats=2))
    await app.gateway.pay((await app.booking(paid.booking_id)).gateway_session_id or "")
    held = await app.start_checkout(checkout(shop, seats=1))
    cancel_slot = CancelSlot(app.db.unit_of_work, app.cancel, app.clock)

    first = await cancel_slot(SlotCancellation(shop.tenant_id, shop.slot_id, "storm"))
    second = await cancel_slot(SlotCancellation(shop.tenant_id, shop.slot_id, "again"))

    assert sorted(first.ended) == sorted([paid.booking_id, held.booking_id])
    assert first.unfinished == []
    assert second.ended == []
    assert second.slot.cancellation_reason == "storm"
    refunded = await app.booking(paid.booking_id)
    assert refunded.status is BookingStatus.CANCELLED
    assert refunded.cancelled_by is CancelledBy.TENANT
    assert refunded.cancellation_reason == "storm"
    assert refunded.refunded.customer_refund == refunded.quote.customer_total
    assert len(refunded.refunds) == 1
    assert (await app.booking(held.booking_id)).status is BookingStatus.EXPIRED
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 5
