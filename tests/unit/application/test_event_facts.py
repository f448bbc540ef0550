"""A payment event that contradicts its booking waits for the gateway's word: when the
gateway cannot be asked, nothing is applied and the redelivered event decides later."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from application.errors import GatewayUnavailable
from application.payment_events import Outcome
from application.ports.gateway import CheckoutSession
from application.ports.gateway_events import CheckoutCompleted
from domain.booking import BookingStatus
from domain.money import Money
from tests.unit.application.conftest import START, build_app, checkout, open_shop


class SessionsUnreachable:
    """The fake gateway, whose checkout sessions cannot be fetched while `down`."""

    def __init__(self, fake: FakeGateway) -> None:
        self._fake = fake
        self.down = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fake, name)

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        if self.down:
            raise GatewayUnavailable("Stripe did not answer")
        return await self._fake.retrieve_checkout_session(session_id, account_id=account_id)


async def test_a_contradicted_completion_is_not_applied_until_the_gateway_confirms_it() -> None:
    gateways: list[SessionsUnreachable] = []

    def wrap(fake: FakeGateway) -> SessionsUnreachable:
        gateways.append(SessionsUnreachable(fake))
        return gateways[0]

    app = build_app(wrap)
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    app.drop_deliveries()
    await app.gateway.pay(booking.gateway_session_id)
    lie = CheckoutCompleted(
        event_id="evt_amount_1",
        created_at=START + timedelta(minutes=1),
        account_id=None,
        session_id=booking.gateway_session_id,
        booking_id=booking.id,
        amount_total=Money(1, "usd"),
        paid=True,
        payment_intent_id="pi_claimed",
    )

    with pytest.raises(GatewayUnavailable):
        await app.apply_event(lie)
    assert (await app.booking(booking.id)).status is BookingStatus.PENDING_PAYMENT

    gateways[0].down = False
    applied = await app.apply_event(lie)  # Stripe redelivers the same event

    assert applied.outcome is Outcome.APPLIED
    confirmed = await app.booking(booking.id)
    assert confirmed.status is BookingStatus.CONFIRMED
    assert confirmed.payment_intent_id != "pi_claimed"
    assert (await app.apply_event(lie)).outcome is Outcome.DUPLICATE


async def test_a_second_awaiting_payment_is_ignored_and_says_why() -> None:
    app = build_app()
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.start_delayed_payment(booking.gateway_session_id)  # delivered: awaiting
    assert (await app.booking(booking.id)).status is BookingStatus.AWAITING_ASYNC_PAYMENT
    again = CheckoutCompleted(
        event_id="evt_awaiting_again",
        created_at=START + timedelta(minutes=1),
        account_id=None,
        session_id=booking.gateway_session_id,
        booking_id=booking.id,
        amount_total=booking.quote.customer_total,
        paid=False,
        payment_intent_id=None,
    )

    applied = await app.apply_event(again)

    assert applied.outcome is Outcome.IGNORED
    assert applied.booking_id == booking.id
    assert "already awaiting_async_payment" in applied.detail
    assert (await app.booking(booking.id)).status is BookingStatus.AWAITING_ASYNC_PAYMENT
