"""The PaymentGateway contract, continued: webhooks verified with each endpoint's secret, and
transfer reversals. FakeGateway and StripeGateway behave the same."""

from __future__ import annotations

import json

import pytest

from adapters.stripe_wire import signature as stripe_signature
from application.errors import GatewayInvalidRequest, InvalidWebhookPayload, InvalidWebhookSignature
from application.ports.gateway import (
    TransferReversalRequest,
    WebhookEndpoint,
)
from application.ports.gateway_events import CheckoutCompleted, IgnoredEvent
from domain.money import Money
from domain.tenant import ChargeModel
from tests.integration.gateway.conftest import GatewayHarness
from tests.integration.gateway.gateway_contract_steps import connected_account
from tests.support.gateway_requests import (
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    checkout_request,
    completed_session_event,
    stripe_event,
)

# --- Webhooks ---------------------------------------------------------------------------------


def _signed(harness: GatewayHarness, body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return stripe_signature.sign(body, secret, harness.clock())


async def test_a_correctly_signed_event_is_translated(harness: GatewayHarness) -> None:
    body = completed_session_event(harness.clock())

    event = harness.gateway.parse_webhook(body, _signed(harness, body), WebhookEndpoint.PLATFORM)

    assert isinstance(event, CheckoutCompleted)
    assert event.event_id == "evt_test_0001"
    assert event.booking_id == "bk_0001"
    assert event.paid
    assert event.amount_total == Money(5000, "eur")
    assert event.created_at == harness.clock().replace(microsecond=0)


async def test_each_endpoint_verifies_with_its_own_secret(harness: GatewayHarness) -> None:
    body = completed_session_event(harness.clock())
    connect_signature = _signed(harness, body, CONNECT_WEBHOOK_SECRET)

    event = harness.gateway.parse_webhook(body, connect_signature, WebhookEndpoint.CONNECT)

    assert isinstance(event, CheckoutCompleted)
    with pytest.raises(InvalidWebhookSignature):
        harness.gateway.parse_webhook(body, connect_signature, WebhookEndpoint.PLATFORM)
    with pytest.raises(InvalidWebhookSignature):
        harness.gateway.parse_webhook(body, _signed(harness, body), WebhookEndpoint.CONNECT)


async def test_a_tampered_body_is_refused(harness: GatewayHarness) -> None:
    body = completed_session_event(harness.clock())
    signature = _signed(harness, body)
    tampered = body.replace(b'"amount_total": 5000', b'"amount_total": 1')
    assert tampered != body

    with pytest.raises(InvalidWebhookSignature):
        harness.gateway.parse_webhook(tampered, signature, WebhookEndpoint.PLATFORM)


async def test_a_signature_from_the_wrong_secret_is_refused(harness: GatewayHarness) -> None:
    body = completed_session_event(harness.clock())

    with pytest.raises(InvalidWebhookSignature):
        harness.gateway.parse_webhook(
            body, _signed(harness, body, "whsec_someone_else"), WebhookEndpoint.PLATFORM
        )


async def test_a_stale_signature_is_refused_after_five_minutes(harness: GatewayHarness) -> None:
    body = completed_session_event(harness.clock())
    signature = _signed(harness, body)

    harness.clock.advance(seconds=300)
    assert harness.gateway.parse_webhook(body, signature, WebhookEndpoint.PLATFORM)
    harness.clock.advance(seconds=1)
    with pytest.raises(InvalidWebhookSignature):
        harness.gateway.parse_webhook(body, signature, WebhookEndpoint.PLATFORM)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000"])
async def test_a_missing_or_malformed_signature_is_refused(
    harness: GatewayHarness, header: str
) -> None:
    body = completed_session_event(harness.clock())

    with pytest.raises(InvalidWebhookSignature):
        harness.gateway.parse_webhook(body, header, WebhookEndpoint.PLATFORM)


async def test_any_of_several_signatures_may_match(harness: GatewayHarness) -> None:
    body = completed_session_event(harness.clock())
    stamp, good = _signed(harness, body).split(",")
    header = f"{stamp},v1={'0' * 64},v0=ignored,{good}"

    assert isinstance(
        harness.gateway.parse_webhook(body, header, WebhookEndpoint.PLATFORM), CheckoutCompleted
    )


async def test_a_signed_body_that_is_no_event_is_an_invalid_payload(
    harness: GatewayHarness,
) -> None:
    for body in (b"not json", b"[]", json.dumps({"object": "event", "id": "evt_1"}).encode()):
        with pytest.raises(InvalidWebhookPayload):
            harness.gateway.parse_webhook(body, _signed(harness, body), WebhookEndpoint.PLATFORM)


async def test_an_event_type_bookpay_ignores_is_acknowledged(harness: GatewayHarness) -> None:
    body = json.dumps(
        stripe_event("customer.created", {"id": "cus_1", "object": "customer"}, harness.clock())
    ).encode()

    event = harness.gateway.parse_webhook(body, _signed(harness, body), WebhookEndpoint.PLATFORM)

    assert event == IgnoredEvent(
        event_id="evt_test_0001",
        created_at=harness.clock().replace(microsecond=0),
        account_id=None,
        type="customer.created",
    )


# --- Transfer reversals (a lost dispute recovered from the tenant) ------------------------


def _reversal(payment_intent_id: str, amount: int, key: str) -> TransferReversalRequest:
    return TransferReversalRequest(
        booking_id="bk_0001",
        payment_intent_id=payment_intent_id,
        amount=Money(amount, "eur"),
        idempotency_key=key,
        description="lost dispute dp_0001",
    )


async def test_a_destination_transfer_is_reversed_once_per_key(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness)
    session = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock(), charge_model=ChargeModel.DESTINATION)
    )
    payment_intent_id = await harness.pay(session)

    first = await harness.gateway.reverse_transfer(
        _reversal(payment_intent_id, 1000, "bookpay-dispute-dp_0001")
    )
    again = await harness.gateway.reverse_transfer(
        _reversal(payment_intent_id, 1000, "bookpay-dispute-dp_0001")
    )

    assert first == again  # the same reversal, not a second one
    assert first.reversal_id.startswith("trr_")
    assert first.amount == Money(1000, "eur")
    with pytest.raises(GatewayInvalidRequest):  # never more than is left of the transfer
        await harness.gateway.reverse_transfer(
            _reversal(payment_intent_id, 1_000_000, "bookpay-dispute-dp_0002")
        )


async def test_a_direct_charge_has_no_transfer_to_reverse(harness: GatewayHarness) -> None:
    account_id = await connected_account(harness)
    session = await harness.gateway.create_checkout_session(
        checkout_request(account_id, harness.clock(), charge_model=ChargeModel.DIRECT)
    )
    payment_intent_id = await harness.pay(session)

    with pytest.raises(GatewayInvalidRequest):
        await harness.gateway.reverse_transfer(
            _reversal(payment_intent_id, 1000, "bookpay-dispute-dp_0003")
        )


async def test_a_kept_verified_body_is_read_again_without_its_signature(
    harness: GatewayHarness,
) -> None:
    """The `queue` webhook mode applies a body verified when it arrived, possibly long after
    the signature's 300 s tolerance: `read_event` translates it the same way."""
    body = completed_session_event(harness.clock())
    verified = harness.gateway.parse_webhook(body, _signed(harness, body), WebhookEndpoint.PLATFORM)

    harness.clock.advance(hours=6)

    assert harness.gateway.read_event(body, WebhookEndpoint.PLATFORM) == verified
    with pytest.raises(InvalidWebhookPayload):
        harness.gateway.read_event(b"not json", WebhookEndpoint.PLATFORM)
