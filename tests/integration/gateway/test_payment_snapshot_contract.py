"""PaymentGateway.retrieve_payment, for both gateways: the charge as the gateway shows it,
with every refund, the application fee and what it gave back, and the disputes — what
reconciliation compares each booking's ledger with."""

from __future__ import annotations

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from adapters.stripe.gateway import StripeGateway
from application.errors import GatewayInvalidRequest
from application.ports.gateway import PaymentGateway
from domain.dispute import DisputeStatus
from domain.money import Money
from domain.tenant import ChargeModel
from tests.integration.gateway.conftest import GatewayHarness
from tests.support.gateway_doubles import FixedClock
from tests.support.gateway_requests import checkout_request, refund_request
from tests.support.stripe_http import RecordingStripeHTTPClient, StripeStandIn


async def _paid(harness: GatewayHarness, charge_model: ChargeModel) -> tuple[str, str]:
    """A paid 50.00 EUR payment (2.50 of it the platform's fee): its id and its account."""
    status = await harness.gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email=None, idempotency_key="bookpay-account-tn_1"
    )
    assert status.account_id is not None
    await harness.onboard(status.account_id)
    session = await harness.gateway.create_checkout_session(
        checkout_request(status.account_id, harness.clock(), charge_model=charge_model)
    )
    return await harness.pay(session), status.account_id


def _lives_on(charge_model: ChargeModel, account_id: str) -> str | None:
    return account_id if charge_model is ChargeModel.DIRECT else None


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_a_paid_payment_shows_its_charge_and_application_fee(
    harness: GatewayHarness, charge_model: ChargeModel
) -> None:
    payment, account_id = await _paid(harness, charge_model)

    snapshot = await harness.gateway.retrieve_payment(
        payment, account_id=_lives_on(charge_model, account_id)
    )

    assert snapshot.payment_intent_id == payment
    assert snapshot.charge_id.startswith(("ch_", "py_"))
    assert snapshot.amount == Money(5000, "eur")
    assert snapshot.amount_refunded == Money(0, "eur")
    assert snapshot.refunds == ()
    assert snapshot.application_fee == Money(250, "eur")
    assert snapshot.application_fee_refunded == Money(0, "eur")
    assert snapshot.disputes == ()


@pytest.mark.parametrize("charge_model", list(ChargeModel))
@pytest.mark.parametrize("fee_back", [True, False], ids=["fee-refunded", "fee-kept"])
async def test_refunds_and_the_fee_they_gave_back_are_shown_as_made(
    harness: GatewayHarness, charge_model: ChargeModel, fee_back: bool
) -> None:
    payment, account_id = await _paid(harness, charge_model)
    made = await harness.gateway.refund(
        refund_request(
            payment,
            2000,
            charge_model=charge_model,
            account_id=account_id,
            refund_application_fee=fee_back,
            reverse_transfer=charge_model is ChargeModel.DESTINATION,
            idempotency_key="bookpay-refund-bk_0001-1-2000",
        )
    )

    snapshot = await harness.gateway.retrieve_payment(
        payment, account_id=_lives_on(charge_model, account_id)
    )

    assert snapshot.amount_refunded == Money(2000, "eur")
    assert snapshot.refunds == (made,)
    assert snapshot.refunds[0].reference == "bookpay-refund-bk_0001-1-2000"
    # Stripe gives back 250 × 2000 / 5000 = 100 of the fee when asked, none otherwise.
    assert snapshot.application_fee_refunded == Money(100 if fee_back else 0, "eur")


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_the_charge_names_the_same_payment(
    harness: GatewayHarness, charge_model: ChargeModel
) -> None:
    payment, account_id = await _paid(harness, charge_model)
    lives_on = _lives_on(charge_model, account_id)
    by_payment = await harness.gateway.retrieve_payment(payment, account_id=lives_on)

    by_charge = await harness.gateway.retrieve_payment(by_payment.charge_id, account_id=lives_on)

    assert by_charge == by_payment


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_a_payment_is_seen_only_where_its_charge_lives(
    harness: GatewayHarness, charge_model: ChargeModel
) -> None:
    payment, account_id = await _paid(harness, charge_model)
    elsewhere = None if charge_model is ChargeModel.DIRECT else account_id

    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.retrieve_payment(payment, account_id=elsewhere)
    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.retrieve_payment("pi_unknown")


async def _dispute(harness: GatewayHarness, payment: str, stand_in: StripeStandIn) -> str:
    gateway: PaymentGateway = harness.gateway
    if isinstance(gateway, FakeGateway):
        return await gateway.open_dispute(payment, amount=3000)
    return stand_in.open_dispute(payment, 3000)


async def test_a_dispute_of_the_charge_is_shown(
    harness: GatewayHarness, stand_in: StripeStandIn
) -> None:
    payment, _ = await _paid(harness, ChargeModel.DESTINATION)
    dispute_id = await _dispute(harness, payment, stand_in)

    snapshot = await harness.gateway.retrieve_payment(payment)

    (dispute,) = snapshot.disputes
    assert dispute.dispute_id == dispute_id
    assert dispute.amount == Money(3000, "eur")
    assert dispute.status is DisputeStatus.NEEDS_RESPONSE
    assert not dispute.is_charge_refundable
    assert dispute.opened_at.tzinfo is not None


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_stripe_is_asked_where_the_charge_lives_and_the_fee_on_the_platform(
    stripe_gateway: StripeGateway,
    stand_in: StripeStandIn,
    recorder: RecordingStripeHTTPClient,
    clock: FixedClock,
    charge_model: ChargeModel,
) -> None:
    status = await stripe_gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email=None, idempotency_key="bookpay-account-tn_1"
    )
    assert status.account_id is not None
    stand_in.complete_onboarding(status.account_id)
    session = await stripe_gateway.create_checkout_session(
        checkout_request(status.account_id, clock(), charge_model=charge_model)
    )
    payment = stand_in.complete_session(session.session_id)
    lives_on = _lives_on(charge_model, status.account_id)
    asked = len(recorder.requests)

    await stripe_gateway.retrieve_payment(payment, account_id=lives_on)

    sent = [(r.method, r.path, r.stripe_account) for r in recorder.requests[asked:]]
    fee_id = stand_in.application_fees[next(iter(stand_in.application_fees))]["id"]
    assert sent == [
        ("GET", f"/v1/payment_intents/{payment}", lives_on),
        ("GET", "/v1/refunds", lives_on),
        ("GET", "/v1/disputes", lives_on),
        ("GET", f"/v1/application_fees/{fee_id}", None),
    ]
    assert all(r.idempotency_key is None for r in recorder.requests[asked:])
