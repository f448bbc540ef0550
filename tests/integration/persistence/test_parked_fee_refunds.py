"""An `application_fee.refunded` that arrives before its payment's completion is parked
whole, like the refund and dispute events it may overtake."""

from __future__ import annotations

from datetime import timedelta

from application.ports.gateway_events import ApplicationFeeRefunded
from domain.money import Money
from tests.integration.persistence.builders import NOW, new_id
from tests.integration.persistence.conftest import Backend


async def test_a_parked_fee_refund_comes_back_whole(backend: Backend) -> None:
    payment = new_id("pi")
    event = ApplicationFeeRefunded(
        event_id=new_id("evt"),
        created_at=NOW + timedelta(minutes=2),
        account_id=None,
        fee_id="fee_1",
        charge_id="ch_1",
        payment_intent_id=payment,
        amount_refunded=Money(115, "usd"),
        fee_account_id="acct_1",
    )
    async with backend.uow() as uow:
        assert await uow.parked_events.park(payment, event)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.parked_events.take(payment) == [event]
