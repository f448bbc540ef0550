"""Who pays for a refund, per charge model and fee policy, pinned against Stripe's API.

Each case sends the refund Bookpay decides (domain split → application/refund_requests.py →
StripeGateway) to the Stripe stand-in, which validates the request against Stripe's
OpenAPI spec (2023-08-16) and books its effect the way Stripe documents it:

- destination charge created with `application_fee_amount`: the whole charge is transferred
  to the tenant and the fee collected back from it; `reverse_transfer` reverses the transfer
  in proportion to the amount refunded, `refund_application_fee` gives back the same
  proportion of the fee (docs.stripe.com/api/refunds/create,
  docs.stripe.com/connect/destination-charges);
- direct charge: the refund comes out of the connected account; `refund_application_fee`
  gives back the proportional fee (docs.stripe.com/connect/direct-charges).

The platform's balance changes by exactly the fee it gives back, never more: it never pays
for a refund out of its own balance by accident.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.stripe.gateway import StripeGateway
from application.refund_requests import issue_refund
from domain.booking import Booking, BookingStatus, Customer
from domain.cancellation import (
    RefundSplit,
    customer_cancellation_refund,
    partial_refund,
    tenant_cancellation_refund,
)
from domain.fees import FeePolicy, RefundOnCancel
from domain.money import Money
from domain.tenant import ChargeModel, ConnectStatus, Tenant
from tests.support.gateway_doubles import FixedClock
from tests.support.gateway_requests import checkout_request
from tests.support.stripe_http import RecordingStripeHTTPClient, RefundEffect, StripeStandIn

pytestmark = pytest.mark.refunds

# Two seats at 25.00 EUR, 5 % fee borne by the customer: 50.00 + 2.50 = 52.50 EUR.
QUOTE = FeePolicy(percent_bps=500).quote(Money(2500, "eur"), 2)


async def _paid_booking(
    gateway: StripeGateway,
    stand_in: StripeStandIn,
    clock: FixedClock,
    charge_model: ChargeModel,
    refund_on_cancel: RefundOnCancel,
) -> tuple[Tenant, Booking]:
    status = await gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email=None, idempotency_key="bookpay-account-tn_0001"
    )
    assert status.account_id is not None
    stand_in.complete_onboarding(status.account_id)
    session = await gateway.create_checkout_session(
        checkout_request(
            status.account_id, clock(), charge_model=charge_model, customer_bears_fee=True
        )
    )
    payment_intent_id = stand_in.complete_session(session.session_id)
    tenant = Tenant(
        id="tn_0001",
        name="Yoga",
        slug="yoga",
        country="DE",
        default_currency="eur",
        timezone="Europe/Berlin",
        charge_model=charge_model,
        connect=ConnectStatus(status.account_id, True, True, True),
    )
    booking = Booking(
        id="bk_0001",
        tenant_id=tenant.id,
        offering_id="of_1",
        slot_id="sl_1",
        seats=2,
        starts_at=clock() + timedelta(days=3),
        customer=Customer("ada@example.com"),
        quote=QUOTE,
        refund_on_cancel=refund_on_cancel,
        hold_expires_at=clock() + timedelta(minutes=30),
        created_at=clock(),
        status=BookingStatus.CONFIRMED,
        payment_intent_id=payment_intent_id,
    )
    return tenant, booking


def _customer_cancels_at_50(booking: Booking) -> RefundSplit:
    return customer_cancellation_refund(booking.quote, 50, booking.refund_on_cancel)


def _tenant_cancels(booking: Booking) -> RefundSplit:
    return tenant_cancellation_refund(booking.quote, booking.refund_on_cancel)


CASES = [
    # charge model, policy, event, customer gets, platform gives back, tenant gives back
    (ChargeModel.DESTINATION, RefundOnCancel.PROPORTIONAL, _customer_cancels_at_50, 2625, 125),
    (ChargeModel.DESTINATION, RefundOnCancel.PROPORTIONAL, _tenant_cancels, 5250, 250),
    (ChargeModel.DESTINATION, RefundOnCancel.NEVER, _customer_cancels_at_50, 2500, 0),
    (ChargeModel.DESTINATION, RefundOnCancel.NEVER, _tenant_cancels, 5250, 0),
    (ChargeModel.DIRECT, RefundOnCancel.PROPORTIONAL, _customer_cancels_at_50, 2625, 125),
    (ChargeModel.DIRECT, RefundOnCancel.PROPORTIONAL, _tenant_cancels, 5250, 250),
    (ChargeModel.DIRECT, RefundOnCancel.NEVER, _customer_cancels_at_50, 2500, 0),
    (ChargeModel.DIRECT, RefundOnCancel.NEVER, _tenant_cancels, 5250, 0),
]


@pytest.mark.parametrize(
    ("charge_model", "policy", "event", "customer_gets", "platform_gives"),
    CASES,
    ids=[f"{c[0].value}-{c[1].value}-{c[2].__name__.strip('_')}" for c in CASES],
)
async def test_a_refund_is_paid_by_whom_the_fee_policy_says(
    stripe_gateway: StripeGateway,
    stand_in: StripeStandIn,
    recorder: RecordingStripeHTTPClient,
    clock: FixedClock,
    charge_model: ChargeModel,
    policy: RefundOnCancel,
    event: object,
    customer_gets: int,
    platform_gives: int,
) -> None:
    tenant, booking = await _paid_booking(stripe_gateway, stand_in, clock, charge_model, policy)
    split = event(booking)  # type: ignore[operator]
    assert split.customer_refund == Money(customer_gets, "eur")
    assert split.application_fee_refund == Money(platform_gives, "eur")

    result = await issue_refund(
        stripe_gateway, tenant, booking, split, "requested_by_customer", "bookpay-refund-bk_0001-1"
    )

    request = recorder.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/refunds")
    expected = {
        "payment_intent": booking.payment_intent_id,
        "amount": str(customer_gets),
        "refund_application_fee": "true" if platform_gives else "false",
        "metadata": {"booking_id": "bk_0001", "bookpay_refund": "bookpay-refund-bk_0001-1"},
        "reason": "requested_by_customer",
    }
    if charge_model is ChargeModel.DESTINATION:
        expected["reverse_transfer"] = "true"  # never out of the platform's own balance
        assert request.stripe_account is None
    else:
        assert request.stripe_account == tenant.connect.account_id
    assert request.params == expected
    assert request.idempotency_key == "bookpay-refund-bk_0001-1"
    assert stand_in.refund_effects[result.refund_id] == RefundEffect(
        platform=-platform_gives, connected=-(customer_gets - platform_gives)
    )


@pytest.mark.parametrize("charge_model", list(ChargeModel))
async def test_partial_refunds_give_back_the_fee_exactly_as_the_ledger_records_it(
    stripe_gateway: StripeGateway,
    stand_in: StripeStandIn,
    clock: FixedClock,
    charge_model: ChargeModel,
) -> None:
    tenant, booking = await _paid_booking(
        stripe_gateway, stand_in, clock, charge_model, RefundOnCancel.PROPORTIONAL
    )
    platform = connected = 0
    for number, amount in enumerate((1001, 333, 2917, None), start=1):
        split = partial_refund(
            booking.quote,
            Money(amount, "eur") if amount else booking.refundable,
            booking.refund_on_cancel,
            booking.refunded,
        )
        result = await issue_refund(
            stripe_gateway, tenant, booking, split, "refund", f"bookpay-refund-bk_0001-{number}"
        )
        booking = booking.record_refund(result.refund_id, split)
        effect = stand_in.refund_effects[result.refund_id]
        assert effect.platform == -split.application_fee_refund.amount
        platform += effect.platform
        connected += effect.connected

    assert booking.refundable.is_zero
    assert platform == -QUOTE.application_fee.amount
    assert connected == -QUOTE.tenant_receives.amount
