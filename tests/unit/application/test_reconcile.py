"""Reconciliation applies what lost webhooks should have said, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from adapters.fake_stripe.gateway import FakeGateway
from application.create_tenant import NewTenant
from application.ports.gateway_events import ChargeRefunded, RefundRecord
from application.start_onboarding import StartOnboardingCommand
from domain.booking import BookingStatus
from domain.money import Money
from domain.tenant import ConnectStatus
from tests.unit.application.conftest import App, build_app, checkout, open_shop


async def test_a_delayed_payment_whose_success_event_was_lost_is_confirmed(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id, "delayed")
    app.drop_deliveries()
    await app.gateway.succeed_delayed_payment(booking.gateway_session_id)
    assert (await app.booking(booking.id)).status is BookingStatus.AWAITING_ASYNC_PAYMENT

    report = await app.reconcile()

    assert report.confirmed == [booking.id]
    assert (await app.booking(booking.id)).status is BookingStatus.CONFIRMED
    again = await app.reconcile()
    assert again.changes == 0


async def test_an_onboarding_whose_account_event_was_lost_is_picked_up(app: App) -> None:
    created = await app.create_tenant(
        NewTenant(name="Late", slug="late", country="US", default_currency="usd", timezone="UTC")
    )
    await app.onboarding(StartOnboardingCommand(created.tenant.id))
    async with app.db.unit_of_work() as uow:
        tenant = await uow.tenants.get(created.tenant.id)
    assert tenant is not None
    assert tenant.connect.account_id is not None
    app.drop_deliveries()
    await app.gateway.complete_onboarding(tenant.connect.account_id)

    report = await app.reconcile()

    assert report.tenants_updated == [tenant.id]
    async with app.db.unit_of_work() as uow:
        updated = await uow.tenants.get(tenant.id)
    assert updated is not None
    assert updated.can_sell


async def test_a_payment_lost_past_the_grace_period_is_applied(app: App) -> None:
    shop = await open_shop(app)
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    app.drop_deliveries()
    await app.gateway.pay(booking.gateway_session_id)

    app.clock.advance(timedelta(minutes=35))  # past the hold, not past the grace period
    assert (await app.reconcile()).changes == 0
    app.clock.advance(timedelta(minutes=10))
    report = await app.reconcile()

    assert report.confirmed == [booking.id]
    assert (await app.booking(booking.id)).status is BookingStatus.CONFIRMED
    assert await app.seats_available(shop.tenant_id, shop.slot_id) == 1


async def test_a_refund_parked_for_a_payment_that_never_came_is_dropped_in_time(app: App) -> None:
    """A refund of a payment the platform took outside Bookpay is never anybody's booking."""
    refund = ChargeRefunded(
        event_id="evt_elsewhere",
        created_at=app.clock.now(),
        account_id=None,
        charge_id="ch_elsewhere",
        payment_intent_id="pi_elsewhere",
        amount_refunded=Money(500, "usd"),
        refunds=(RefundRecord("re_elsewhere", Money(500, "usd")),),
    )
    applied = await app.apply_event(refund)
    assert applied.outcome.value == "parked"

    app.clock.advance(timedelta(days=29))
    assert (await app.reconcile()).parked_dropped == []
    app.clock.advance(timedelta(days=2))
    report = await app.reconcile()

    assert report.parked_dropped == ["evt_elsewhere"]
    assert report.changes == 1
    async with app.db.unit_of_work() as uow:
        assert await uow.parked_events.take("pi_elsewhere") == []


class StripeDisablesEveryAccount:
    """The fake gateway, except that Stripe has since disabled every connected account and
    its account.updated event never arrived."""

    def __init__(self, fake: FakeGateway, since: dict[str, bool]) -> None:
        # `since["now"]` turns it on: off while the shop is onboarded, since every
        # account.updated is read back from Stripe.
        self._fake = fake
        self._since = since

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fake, name)

    async def retrieve_account(self, account_id: str) -> ConnectStatus:
        status = await self._fake.retrieve_account(account_id)
        if not self._since["now"]:
            return status
        return replace(status, charges_enabled=False, requirements_due=("external_account",))


async def test_an_account_stripe_disabled_whose_event_was_lost_stops_selling() -> None:
    since = {"now": False}
    app = build_app(lambda fake: StripeDisablesEveryAccount(fake, since))
    shop = await open_shop(app)
    since["now"] = True
    async with app.db.unit_of_work() as uow:
        tenant = await uow.tenants.get(shop.tenant_id)
    assert tenant is not None
    assert tenant.can_sell

    report = await app.reconcile()

    assert report.tenants_updated == [shop.tenant_id]
    async with app.db.unit_of_work() as uow:
        updated = await uow.tenants.get(shop.tenant_id)
    assert updated is not None
    assert not updated.can_sell
    assert (await app.reconcile()).tenants_updated == []
