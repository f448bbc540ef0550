"""Every request StripeGateway can send, as Stripe receives it, checked against Stripe's
OpenAPI spec (API version 2023-08-16) and against what Bookpay means to ask for."""

from __future__ import annotations

import logging

import pytest

from adapters.stripe.gateway import STRIPE_API_VERSION, StripeGateway
from domain.tenant import ChargeModel
from tests.integration.gateway.conftest import STRIPE_API_BASE
from tests.support.gateway_doubles import FixedClock
from tests.support.gateway_requests import checkout_request, refund_request
from tests.support.stripe_http import RecordedRequest, RecordingStripeHTTPClient, StripeStandIn
from tests.support.stripe_openapi import stripe_openapi


def assert_valid(request: RecordedRequest) -> None:
    errors = stripe_openapi().validate(request.method, request.path, request.encoded_params)
    assert errors == [], f"{request.method} {request.path}: {errors}"


async def _onboarded_account(gateway: StripeGateway, stand_in: StripeStandIn) -> str:
    status = await gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email="owner@yoga.example", idempotency_key="k-acct"
    )
    assert status.account_id is not None
    stand_in.complete_onboarding(status.account_id)
    return status.account_id


@pytest.fixture
def every_request_is_valid(recorder: RecordingStripeHTTPClient):  # type: ignore[no-untyped-def]
    yield
    assert recorder.requests, "the test sent no request"
    for request in recorder.requests:
        assert_valid(request)
        assert request.base == STRIPE_API_BASE
        assert request.headers["Stripe-Version"] == STRIPE_API_VERSION
        if request.method == "POST":
            assert request.idempotency_key


pytestmark = pytest.mark.usefixtures("every_request_is_valid")


async def test_create_account_asks_for_an_express_account(
    stripe_gateway: StripeGateway, recorder: RecordingStripeHTTPClient
) -> None:
    await stripe_gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email="owner@yoga.example", idempotency_key="k-acct"
    )

    [request] = recorder.requests
    assert (request.method, request.path) == ("POST", "/v1/accounts")
    assert request.idempotency_key == "k-acct"
    assert request.stripe_account is None
    assert request.params == {
        "type": "express",
        "country": "DE",
        "email": "owner@yoga.example",
        "capabilities": {
            "card_payments": {"requested": "true"},
            "transfers": {"requested": "true"},
        },
        "metadata": {"tenant_id": "tn_0001"},
    }


async def test_account_link_and_retrieve_account(
    stripe_gateway: StripeGateway, recorder: RecordingStripeHTTPClient, stand_in: StripeStandIn
) -> None:
    account_id = await _onboarded_account(stripe_gateway, stand_in)

    await stripe_gateway.create_onboarding_link(
        account_id=account_id,
        refresh_url="https://bookpay.example/refresh",
        return_url="https://bookpay.example/return",
    )
    await stripe_gateway.retrieve_account(account_id)

    _, link, retrieve = recorder.requests
    assert (link.method, link.path) == ("POST", "/v1/account_links")
    assert link.params == {
        "account": account_id,
        "type": "account_onboarding",
        "refresh_url": "https://bookpay.example/refresh",
        "return_url": "https://bookpay.example/return",
    }
    assert link.idempotency_key == f"bookpay-link-{account_id}-key1"
    assert (retrieve.method, retrieve.path) == ("GET", f"/v1/accounts/{account_id}")
    assert retrieve.idempotency_key is None


async def test_a_destination_checkout_transfers_to_the_tenant_minus_the_fee(
    stripe_gateway: StripeGateway,
    recorder: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    clock: FixedClock,
) -> None:
    account_id = await _onboarded_account(stripe_gateway, stand_in)
    request = checkout_request(account_id, clock())

    await stripe_gateway.create_checkout_session(request)

    checkout = recorder.requests[-1]
    assert (checkout.method, checkout.path) == ("POST", "/v1/checkout/sessions")
    assert checkout.stripe_account is None
    assert checkout.idempotency_key == "bookpay-checkout-bk_0001-1"
    assert checkout.params == {
        "mode": "payment",
        "line_items": {
            "0": {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": "2500",
                    "product_data": {"name": "Yoga class — 2 Mar 10:00"},
                },
                "quantity": "2",
            }
        },
        "client_reference_id": "bk_0001",
        "metadata": {"tenant_id": "tn_0001", "booking_id": "bk_0001", "fee_policy_version": "3"},
        "expires_at": str(int(request.expires_at.timestamp())),
        "customer_email": "ada@example.com",
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "payment_intent_data": {
            "application_fee_amount": "250",
            "transfer_data": {"destination": account_id},
            "metadata": {"tenant_id": "tn_0001", "booking_id": "bk_0001"},
        },
        # Vouchers expire when the hold of a delayed payment is about to end.
        "payment_method_options": {
            "boleto": {"expires_after_days": "3"},
            "konbini": {"expires_after_days": "3"},
            "oxxo": {"expires_after_days": "3"},
        },
    }


async def test_a_direct_checkout_lives_on_the_connected_account(
    stripe_gateway: StripeGateway,
    recorder: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    clock: FixedClock,
) -> None:
    account_id = await _onboarded_account(stripe_gateway, stand_in)

    await stripe_gateway.create_checkout_session(
        checkout_request(account_id, clock(), charge_model=ChargeModel.DIRECT)
    )

    checkout = recorder.requests[-1]
    assert checkout.stripe_account == account_id
    intent_data = checkout.params["payment_intent_data"]
    assert intent_data["application_fee_amount"] == "250"
    assert "transfer_data" not in intent_data


async def test_a_fee_the_customer_bears_is_its_own_line(
    stripe_gateway: StripeGateway,
    recorder: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    clock: FixedClock,
) -> None:
    account_id = await _onboarded_account(stripe_gateway, stand_in)

    await stripe_gateway.create_checkout_session(
        checkout_request(account_id, clock(), customer_bears_fee=True)
    )

    lines = recorder.requests[-1].params["line_items"]
    assert lines["1"] == {
        "price_data": {
            "currency": "eur",
            "unit_amount": "250",
            "product_data": {"name": "Service fee"},
        },
        "quantity": "1",
    }


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_retrieve_and_expire_a_session(
    stripe_gateway: StripeGateway,
    recorder: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    clock: FixedClock,
    charge_model: ChargeModel,
) -> None:
    account_id = await _onboarded_account(stripe_gateway, stand_in)
    session = await stripe_gateway.create_checkout_session(
        checkout_request(account_id, clock(), charge_model=charge_model)
    )

    await stripe_gateway.retrieve_checkout_session(
        session.session_id, account_id=session.account_id
    )
    await stripe_gateway.expire_checkout_session(session.session_id, account_id=session.account_id)

    retrieve, expire = recorder.requests[-2:]
    expected_account = account_id if charge_model is ChargeModel.DIRECT else None
    assert (retrieve.method, retrieve.path) == (
        "GET",
        f"/v1/checkout/sessions/{session.session_id}",
    )
    assert retrieve.stripe_account == expected_account
    # The payment intent in the same request: its status tells a delayed payment on its
    # way from a failed one.
    assert retrieve.params == {"expand": {"0": "payment_intent"}}
    assert (expire.method, expire.path) == (
        "POST",
        f"/v1/checkout/sessions/{session.session_id}/expire",
    )
    assert expire.stripe_account == expected_account
    assert expire.idempotency_key == f"bookpay-expire-{session.session_id}"
    assert expire.params == {}


@pytest.mark.parametrize("refund_application_fee", [True, False])
@pytest.mark.parametrize("reverse_transfer", [True, False])
async def test_a_destination_refund_says_who_gives_back_what(
    stripe_gateway: StripeGateway,
    recorder: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    clock: FixedClock,
    refund_application_fee: bool,
    reverse_transfer: bool,
) -> None:
    account_id = await _onboarded_account(stripe_gateway, stand_in)
    session = await stripe_gateway.create_checkout_session(checkout_request(account_id, clock()))
    payment_intent_id = stand_in.complete_session(session.session_id)

    await stripe_gateway.refund(
        refund_request(
            payment_intent_id,
            1250,
            refund_application_fee=refund_application_fee,
            reverse_transfer=reverse_transfer,
        )
    )

    refund = recorder.requests[-1]
    assert (refund.method, refund.path) == ("POST", "/v1/refunds")
    assert refund.stripe_account is None
    assert refund.idempotency_key == "bookpay-refund-bk_0001-1"
    assert refund.params == {
        "payment_intent": payment_intent_id,
        "amount": "1250",
        "refund_application_fee": str(refund_application_fee).lower(),
        "reverse_transfer": str(reverse_transfer).lower(),
        "reason": "requested_by_customer",
        "metadata": {"booking_id": "bk_0001", "bookpay_refund": "bookpay-refund-bk_0001-1"},
    }


@pytest.mark.parametrize("refund_application_fee", [True, False])
async def test_a_direct_refund_never_reverses_a_transfer(
    stripe_gateway: StripeGateway,
    recorder: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    clock: FixedClock,
    refund_application_fee: bool,
) -> None:
    account_id = await _onboarded_account(stripe_gateway, stand_in)
    session = await stripe_gateway.create_checkout_session(
        checkout_request(account_id, clock(), charge_model=ChargeModel.DIRECT)
    )
    payment_intent_id = stand_in.complete_session(session.session_id)

    await stripe_gateway.refund(
        refund_request(
            payment_intent_id,
            1250,
            charge_model=ChargeModel.DIRECT,
            account_id=account_id,
            refund_application_fee=refund_application_fee,
            reverse_transfer=True,
            reason="the teacher was ill",
        )
    )

    refund = recorder.requests[-1]
    assert refund.stripe_account == account_id
    assert "reverse_transfer" not in refund.params
    assert refund.params["refund_application_fee"] == str(refund_application_fee).lower()
    assert "reason" not in refund.params
    assert refund.params["metadata"] == {
        "booking_id": "bk_0001",
        "bookpay_refund": "bookpay-refund-bk_0001-1",
        "reason": "the teacher was ill",
    }


async def test_secrets_are_never_logged(
    stripe_gateway: StripeGateway,
    recorder: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    from tests.support.stripe_http import SERVER_ERROR

    recorder.inject(SERVER_ERROR)
    account_id = await _onboarded_account(stripe_gateway, stand_in)
    await stripe_gateway.create_checkout_session(checkout_request(account_id, clock()))

    assert "sk_test_bookpay_secret" not in caplog.text
    assert "whsec_" not in caplog.text
    assert "sk_test_bookpay_secret" not in repr(stripe_gateway)


@pytest.mark.parametrize("charge_model", [ChargeModel.DESTINATION, ChargeModel.DIRECT])
@pytest.mark.parametrize("refund_application_fee", [True, False])
async def test_the_fee_refund_is_read_from_the_application_fee(
    stripe_gateway: StripeGateway,
    recorder: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    clock: FixedClock,
    charge_model: ChargeModel,
    refund_application_fee: bool,
) -> None:
    account_id = await _onboarded_account(stripe_gateway, stand_in)
    session = await stripe_gateway.create_checkout_session(
        checkout_request(account_id, clock(), charge_model=charge_model)
    )
    payment_intent_id = stand_in.complete_session(session.session_id)
    on_account = account_id if charge_model is ChargeModel.DIRECT else None
    refund = await stripe_gateway.refund(
        refund_request(
            payment_intent_id,
            1250,
            charge_model=charge_model,
            account_id=on_account,
            refund_application_fee=refund_application_fee,
            reverse_transfer=charge_model is ChargeModel.DESTINATION,
        )
    )

    fee_refunded = await stripe_gateway.application_fee_refunded(
        payment_intent_id, account_id=on_account
    )

    effect = stand_in.refund_effects[refund.refund_id]
    assert fee_refunded is not None
    assert fee_refunded.amount == effect.fee_back
    assert (fee_refunded.amount > 0) is refund_application_fee
    intent, fee = recorder.requests[-2:]
    assert (intent.method, intent.path) == ("GET", f"/v1/payment_intents/{payment_intent_id}")
    assert intent.stripe_account == on_account
    assert (fee.method, fee.path.rsplit("/", 1)[0]) == ("GET", "/v1/application_fees")
    assert fee.stripe_account is None
