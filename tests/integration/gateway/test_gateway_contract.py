"""The PaymentGateway contract: FakeGateway and StripeGateway (against a recorded Stripe
stand-in) behave the same wherever the use cases can tell."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import GatewayInvalidRequest
from application.ports.gateway import (
    PaymentIntentStatus,
    PaymentStatus,
    SessionStatus,
)
from domain.money import Money
from domain.tenant import ChargeModel
from tests.integration.gateway.conftest import GatewayHarness
from tests.integration.gateway.gateway_contract_steps import connected_account
from tests.support.gateway_requests import (
    checkout_request,
    refund_request,
)

# --- Connect ----------------------------------------------------------------------------------


async def test_a_new_connected_account_cannot_take_charges_yet(harness: GatewayHarness) -> None:
    status = await harness.gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email=None, idempotency_key="bookpay-account-tn_0001"
    )

    assert status.account_id is not None
    assert status.account_id.startswith("acct_")
    assert not status.charges_enabled
    assert not status.payouts_enabled
    assert not status.can_take_charges


async def test_creating_an_account_again_with_the_same_key_returns_the_same_account(
    harness: GatewayHarness,
) -> None:
    first = await connected_account(harness, onboarded=False)
    again = await connected_account(harness, onboarded=False)
    other = await connected_account(harness, key="bookpay-account-tn_0002", onboarded=False)

    assert again == first
    assert other != first


async def test_retrieving_an_account_reflects_completed_onboarding(
    harness: GatewayHarness,
) -> None:
    account_id = await connected_account(harness, onboarded=False)
    before = await harness.gateway.retrieve_account(account_id)

    await harness.onboard(account_id)
    after = await harness.gateway.retrieve_account(account_id)

    assert before.account_id == account_id
    assert not before.charges_enabled
    assert after.charges_enabled
    assert after.payouts_enabled
    assert after.details_submitted
    assert after.requirements_due == ()


async def test_an_onboarding_link_is_a_url_that_expires(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness, onboarded=False)

    link = await harness.gateway.create_onboarding_link(
        account_id=account_id,
        refresh_url="https://bookpay.example/connect/refresh",
        return_url="https://bookpay.example/connect/done",
    )

    assert link.url.startswith("http")
    assert link.expires_at.tzinfo is not None
    assert link.expires_at > harness.clock()


async def test_an_unknown_account_is_an_invalid_request(harness: GatewayHarness) -> None:
    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.create_onboarding_link(
            account_id="acct_unknown", refresh_url="https://a.example", return_url="https://b.ex"
        )
    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.retrieve_account("acct_unknown")


# --- Checkout ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charge_model", "customer_bears_fee", "total"),
    [
        (ChargeModel.DESTINATION, False, 5000),
        (ChargeModel.DESTINATION, True, 5250),
        (ChargeModel.DIRECT, False, 5000),
        (ChargeModel.DIRECT, True, 5250),
    ],
)
async def test_a_checkout_session_opens_for_the_booking(
    harness: GatewayHarness, charge_model: ChargeModel, customer_bears_fee: bool, total: int
) -> None:
    account_id = await connected_account(harness)
    request = checkout_request(
        account_id,
        harness.clock(),
        charge_model=charge_model,
        customer_bears_fee=customer_bears_fee,
    )

    session = await harness.gateway.create_checkout_session(request)

    assert session.session_id.startswith("cs_")
    assert session.status is SessionStatus.OPEN
    assert session.payment_status is PaymentStatus.UNPAID
    assert session.url is not None
    assert session.url.startswith("http")
    assert session.booking_id == "bk_0001"
    assert session.amount_total == Money(total, "eur")
    assert session.expires_at == request.expires_at.replace(microsecond=0)
    assert session.payment_intent_id is None
    expected_account = account_id if charge_model is ChargeModel.DIRECT else None
    assert session.account_id == expected_account


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_an_account_still_onboarding_cannot_take_a_checkout(
    harness: GatewayHarness, charge_model: ChargeModel
) -> None:
    account_id = await connected_account(harness, onboarded=False)

    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.create_checkout_session(
            checkout_request(account_id, harness.clock(), charge_model=charge_model)
        )


async def test_a_retried_checkout_with_the_same_key_returns_the_same_session(
    harness: GatewayHarness,
) -> None:
    account_id = await connected_account(harness)
    request = checkout_request(account_id, harness.clock())

    first = await harness.gateway.create_checkout_session(request)
    again = await harness.gateway.create_checkout_session(request)
    next_attempt = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock(), idempotency_key="bookpay-checkout-bk_0001-2")
    )

    assert again.session_id == first.session_id
    assert next_attempt.session_id != first.session_id


@pytest.mark.parametrize(
    "expires_in", [timedelta(minutes=29), timedelta(hours=24, minutes=1)], ids=["short", "long"]
)
async def test_a_hold_outside_stripes_session_lifetime_is_refused(
    harness: GatewayHarness, expires_in: timedelta
) -> None:
    account_id = await connected_account(harness)

    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.create_checkout_session(
            checkout_request(account_id, harness.clock(), expires_in=expires_in)
        )


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_a_session_is_retrieved_where_it_lives(
    harness: GatewayHarness, charge_model: ChargeModel
) -> None:
    account_id = await connected_account(harness)
    created = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock(), charge_model=charge_model)
    )

    retrieved = await harness.gateway.retrieve_checkout_session(
        created.session_id, account_id=created.account_id
    )

    assert retrieved == created


async def test_a_direct_session_is_not_found_on_the_platform(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness)
    created = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock(), charge_model=ChargeModel.DIRECT)
    )

    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.retrieve_checkout_session(created.session_id)


async def test_a_paid_session_shows_its_payment(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness)
    created = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock())
    )

    payment_intent_id = await harness.pay(created)
    paid = await harness.gateway.retrieve_checkout_session(created.session_id)

    assert paid.status is SessionStatus.COMPLETE
    assert paid.payment_status is PaymentStatus.PAID
    assert paid.payment_intent_id == payment_intent_id
    assert paid.payment_intent_status is PaymentIntentStatus.SUCCEEDED
    assert paid.url is None


async def test_a_delayed_payment_on_its_way_shows_its_intent_pending(
    harness: GatewayHarness,
) -> None:
    account_id = await connected_account(harness)
    created = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock())
    )

    payment_intent_id = await harness.pay_later(created)
    awaiting = await harness.gateway.retrieve_checkout_session(created.session_id)

    assert created.payment_intent_status is None  # nothing to pay with yet
    assert awaiting.status is SessionStatus.COMPLETE
    assert awaiting.payment_status is PaymentStatus.UNPAID
    assert awaiting.payment_intent_id == payment_intent_id
    # A bank debit on its way (the fake) or a voucher to pay at the store (the stand-in).
    assert awaiting.payment_intent_status in (
        PaymentIntentStatus.PROCESSING,
        PaymentIntentStatus.REQUIRES_ACTION,
    )
    assert awaiting.payment_intent_status is not None
    assert not awaiting.payment_intent_status.failed


async def test_a_failed_delayed_payment_shows_its_intent_failed(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness)
    created = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock())
    )
    payment_intent_id = await harness.pay_later(created)

    await harness.payment_fails(created)
    failed = await harness.gateway.retrieve_checkout_session(created.session_id)

    # The session alone looks like a payment on its way: only the intent tells.
    assert failed.status is SessionStatus.COMPLETE
    assert failed.payment_status is PaymentStatus.UNPAID
    assert failed.payment_intent_id == payment_intent_id
    assert failed.payment_intent_status is PaymentIntentStatus.REQUIRES_PAYMENT_METHOD
    assert failed.payment_intent_status.failed


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_an_expired_session_can_no_longer_be_paid(
    harness: GatewayHarness, charge_model: ChargeModel
) -> None:
    account_id = await connected_account(harness)
    created = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock(), charge_model=charge_model)
    )

    expired = await harness.gateway.expire_checkout_session(
        created.session_id, account_id=created.account_id
    )

    assert expired.session_id == created.session_id
    assert expired.status is SessionStatus.EXPIRED
    assert expired.url is None
    retrieved = await harness.gateway.retrieve_checkout_session(
        created.session_id, account_id=created.account_id
    )
    assert retrieved.status is SessionStatus.EXPIRED


async def test_a_paid_session_cannot_be_expired(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness)
    created = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock())
    )
    await harness.pay(created)

    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.expire_checkout_session(created.session_id)


async def test_an_unknown_session_is_an_invalid_request(harness: GatewayHarness) -> None:
    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.retrieve_checkout_session("cs_test_unknown")


# --- Refunds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("charge_model", list(ChargeModel))
@pytest.mark.parametrize("fee_back", [True, False], ids=["fee-refunded", "fee-kept"])
async def test_a_refund_gives_back_part_of_a_payment(
    harness: GatewayHarness, charge_model: ChargeModel, fee_back: bool
) -> None:
    account_id = await connected_account(harness)
    session = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock(), charge_model=charge_model)
    )
    payment_intent_id = await harness.pay(session)

    refund = await harness.gateway.refund(
        refund_request(
            payment_intent_id,
            2500,
            charge_model=charge_model,
            account_id=account_id,
            refund_application_fee=fee_back,
            reverse_transfer=fee_back,
        )
    )

    assert refund.refund_id.startswith("re_")
    assert refund.amount == Money(2500, "eur")
    assert refund.status == "succeeded"


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_a_payments_refunds_are_listed_with_bookpays_reference(
    harness: GatewayHarness, charge_model: ChargeModel
) -> None:
    account_id = await connected_account(harness)
    session = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock(), charge_model=charge_model)
    )
    payment_intent_id = await harness.pay(session)
    lives_on = account_id if charge_model is ChargeModel.DIRECT else None
    assert await harness.gateway.list_refunds(payment_intent_id, account_id=lives_on) == []

    first = await harness.gateway.refund(
        refund_request(
            payment_intent_id,
            1000,
            charge_model=charge_model,
            account_id=account_id,
            idempotency_key="bookpay-refund-bk_0001-1-1000",
        )
    )

    (listed,) = await harness.gateway.list_refunds(payment_intent_id, account_id=lives_on)
    assert listed == first
    assert listed.reference == "bookpay-refund-bk_0001-1-1000"
    assert listed.amount == Money(1000, "eur")


async def test_a_retried_refund_with_the_same_key_refunds_once(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness)
    session = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock())
    )
    payment_intent_id = await harness.pay(session)
    request = refund_request(payment_intent_id, 5000)

    first = await harness.gateway.refund(request)
    again = await harness.gateway.refund(request)

    assert again == first
    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.refund(
            refund_request(payment_intent_id, 1, idempotency_key="bookpay-refund-bk_0001-2")
        )


async def test_refunding_more_than_was_paid_is_refused(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness)
    session = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock())
    )
    payment_intent_id = await harness.pay(session)

    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.refund(refund_request(payment_intent_id, 5001))


async def test_refunding_an_unknown_payment_is_refused(harness: GatewayHarness) -> None:
    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.refund(refund_request("pi_unknown", 100))
