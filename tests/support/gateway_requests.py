"""Builders of port requests and Stripe-shaped webhook bodies for gateway tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from application.ports.gateway import CheckoutRequest, LineItem, RefundRequest
from domain.money import Money
from domain.tenant import ChargeModel
from tests.support.stripe_reference import stripe_fixture

WEBHOOK_SECRET = "whsec_platform_test"
CONNECT_WEBHOOK_SECRET = "whsec_connect_test"


def checkout_request(
    account_id: str,
    now: datetime,
    *,
    booking_id: str = "bk_0001",
    charge_model: ChargeModel = ChargeModel.DESTINATION,
    customer_bears_fee: bool = False,
    seats: int = 2,
    idempotency_key: str | None = None,
    expires_in: timedelta = timedelta(minutes=30, seconds=30),
) -> CheckoutRequest:
    """Two seats of a 25.00 EUR class; a 2.50 EUR fee, on its own line when the customer
    bears it."""
    lines = [LineItem("Yoga class — 2 Mar 10:00", Money(2500, "eur"), seats)]
    if customer_bears_fee:
        lines.append(LineItem("Service fee", Money(250, "eur"), 1))
    return CheckoutRequest(
        tenant_id="tn_0001",
        booking_id=booking_id,
        account_id=account_id,
        charge_model=charge_model,
        line_items=tuple(lines),
        application_fee=Money(250, "eur"),
        expires_at=now + expires_in,
        customer_email="ada@example.com",
        success_url="https://shop.example/bookings/bk_0001/thanks",
        cancel_url="https://shop.example/bookings/bk_0001/cancelled",
        fee_policy_version=3,
        idempotency_key=idempotency_key or f"bookpay-checkout-{booking_id}-1",
    )


def refund_request(
    payment_intent_id: str,
    amount: int,
    *,
    charge_model: ChargeModel = ChargeModel.DESTINATION,
    account_id: str | None = None,
    refund_application_fee: bool = True,
    reverse_transfer: bool = True,
    idempotency_key: str = "bookpay-refund-bk_0001-1",
    reason: str | None = "requested_by_customer",
) -> RefundRequest:
    return RefundRequest(
        booking_id="bk_0001",
        payment_intent_id=payment_intent_id,
        amount=Money(amount, "eur"),
        charge_model=charge_model,
        refund_application_fee=refund_application_fee,
        reverse_transfer=reverse_transfer,
        idempotency_key=idempotency_key,
        account_id=account_id,
        reason=reason,
    )


def stripe_event(
    event_type: str,
    obj: dict[str, Any],
    created: datetime,
    *,
    event_id: str = "evt_test_0001",
    account: str | None = None,
) -> dict[str, Any]:
    """A Stripe `event` around `obj`, shaped like the fixture's."""
    event = stripe_fixture("event")
    event.update(
        id=event_id,
        type=event_type,
        created=int(created.timestamp()),
        api_version="2023-08-16",
        data={"object": obj},
    )
    if account:
        event["account"] = account
    return event


def completed_session_event(created: datetime, *, paid: bool = True) -> bytes:
    session = stripe_fixture("checkout.session")
    session.update(
        client_reference_id="bk_0001",
        metadata={"booking_id": "bk_0001", "tenant_id": "tn_0001"},
        status="complete",
        payment_status="paid" if paid else "unpaid",
        amount_total=5000,
        currency="eur",
    )
    return json.dumps(stripe_event("checkout.session.completed", session, created)).encode()
