"""Steps the fake gateway's tests share: a connected account, an open checkout session."""

from __future__ import annotations

from adapters.fake_stripe.gateway import FakeGateway
from application.ports.gateway import CheckoutSession
from domain.tenant import ChargeModel
from tests.support.gateway_doubles import FixedClock, WebhookInbox
from tests.support.gateway_requests import checkout_request


async def onboarding_account(fake: FakeGateway, key: str = "acct-1") -> str:
    status = await fake.create_connected_account(
        tenant_id="tn_0001", country="de", email="owner@yoga.example", idempotency_key=key
    )
    assert status.account_id is not None
    return status.account_id


async def open_session(
    fake: FakeGateway,
    inbox: WebhookInbox,
    clock: FixedClock,
    charge_model: ChargeModel = ChargeModel.DESTINATION,
    booking_id: str = "bk_0001",
) -> CheckoutSession:
    """A session of an onboarded tenant, with the onboarding's event out of the inbox."""
    account_id = await onboarding_account(fake)
    await fake.complete_onboarding(account_id)
    inbox.deliveries.clear()
    return await fake.create_checkout_session(
        checkout_request(
            account_id,
            clock(),
            charge_model=charge_model,
            customer_bears_fee=True,
            booking_id=booking_id,
        )
    )
