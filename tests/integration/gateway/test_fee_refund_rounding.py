"""The application fee given back with each partial refund (`refund_application_fee`),
three ways that must agree: the fake Stripe (FakeGateway), the Stripe stand-in behind the
real StripeGateway, and what the domain expects (domain.cancellation.partial_refund).

Stripe documents that each refund gives back the fee "in an amount proportional to the
amount of the charge refunded", and all of it with a full refund
(domain.cancellation.stripe_fee_refund has the sources): each refund is rounded on its
own, not on running totals. Any sequence of partial refunds gives the same fee refunds in
all three, and never more than the fee; refunding the rest gives back all of it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fake_stripe.gateway import FakeGateway
from adapters.stripe.gateway import StripeGateway
from application.ports.gateway import CheckoutRequest, LineItem, PaymentGateway, RefundRequest
from domain.cancellation import RefundSplit, partial_refund
from domain.fee_quote import FeeQuote
from domain.fees import RefundOnCancel
from domain.money import Money, granularity
from domain.tenant import ChargeModel
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore
from tests.integration.gateway.conftest import PUBLIC_BASE_URL, STRIPE_API_BASE
from tests.support.gateway_doubles import FixedClock, RecordedSleeps, WebhookInbox
from tests.support.gateway_requests import CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET
from tests.support.stripe_http import RecordingStripeHTTPClient, StripeStandIn
from tests.unit.fee_strategies import quotes

EXAMPLES = int(os.environ.get("BOOKPAY_HYPOTHESIS_EXAMPLES", "30"))


@dataclass
class _Gateway:
    gateway: PaymentGateway
    pay: Callable[[str], Awaitable[str]]  # a session id → its payment intent's id
    onboard: Callable[[str], Awaitable[None]]


def _fake(clock: FixedClock) -> tuple[FakeGateway, _Gateway]:
    fake = FakeGateway(
        store=InMemoryFakeStripeStore(),
        public_base_url=PUBLIC_BASE_URL,
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        deliver=WebhookInbox(),
        clock=clock,
        retry_delays=(1.0,),
        sleep=RecordedSleeps(),
    )

    async def pay(session_id: str) -> str:
        paid = await fake.pay(session_id)
        assert paid.session.payment_intent_id is not None
        return paid.session.payment_intent_id

    async def onboard(account_id: str) -> None:
        await fake.complete_onboarding(account_id)

    return fake, _Gateway(fake, pay, onboard)


def _stripe(clock: FixedClock, stand_in: StripeStandIn) -> _Gateway:
    keys = iter(f"key{n}" for n in range(1, 10_000))
    stripe = StripeGateway(
        "sk_test_bookpay_secret",
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        api_base=STRIPE_API_BASE,
        http_client=RecordingStripeHTTPClient(stand_in),
        retry_delays=(0.5,),
        sleep=RecordedSleeps(),
        clock=clock,
        new_key=lambda: next(keys),
    )

    async def pay(session_id: str) -> str:
        return stand_in.complete_session(session_id)

    async def onboard(account_id: str) -> None:
        stand_in.complete_onboarding(account_id)

    return _Gateway(stripe, pay, onboard)


async def _fee_refunds(
    side: _Gateway, clock: FixedClock, quote: FeeQuote, model: ChargeModel, amounts: list[int]
) -> list[int]:
    """Pay `quote` at the gateway, refund `amounts` one by one with the fee; the fee each
    refund gave back, as the gateway reports the application fee's `amount_refunded`."""
    gateway = side.gateway
    currency = quote.currency
    status = await gateway.create_connected_account(
        tenant_id="tn_1", country="us", email=None, idempotency_key="bookpay-account-tn_1"
    )
    assert status.account_id is not None
    await side.onboard(status.account_id)
    session = await gateway.create_checkout_session(
        CheckoutRequest(
            tenant_id="tn_1",
            booking_id="bk_1",
            account_id=status.account_id,
            charge_model=model,
            line_items=(LineItem("Class", quote.customer_total, 1),),
            application_fee=quote.application_fee,
            expires_at=clock() + timedelta(minutes=30, seconds=30),
            customer_email="ada@example.com",
            success_url="https://shop.example/thanks",
            cancel_url="https://shop.example/left",
            fee_policy_version=quote.fee_policy_version,
            idempotency_key="bookpay-checkout-bk_1",
        )
    )
    payment = await side.pay(session.session_id)
    lives_on = status.account_id if model is ChargeModel.DIRECT else None
    given_back: list[int] = []
    before = 0
    for number, amount in enumerate(amounts, start=1):
        await gateway.refund(
            RefundRequest(
                booking_id="bk_1",
                payment_intent_id=payment,
                amount=Money(amount, currency),
                charge_model=model,
                refund_application_fee=True,
                reverse_transfer=model is ChargeModel.DESTINATION,
                idempotency_key=f"bookpay-refund-bk_1-{number}-{amount}",
                account_id=status.account_id,
                reason=None,
            )
        )
        fee = await gateway.application_fee_refunded(payment, account_id=lives_on)
        total = 0 if fee is None else fee.amount
        given_back.append(total - before)
        before = total
    return given_back


def _expected(quote: FeeQuote, amounts: list[int]) -> list[int]:
    """The fee the domain expects back with each refund (a proportional policy)."""
    already = RefundSplit.nothing(quote.currency)
    expected = []
    for amount in amounts:
        split = partial_refund(
            quote, Money(amount, quote.currency), RefundOnCancel.PROPORTIONAL, already
        )
        expected.append(split.application_fee_refund.amount)
        already = already + split
    return expected


@st.composite
def _refunds(draw: st.DrawFn, quote: FeeQuote) -> list[int]:
    """Partial refunds in steps the currency allows, and now and then the rest too."""
    step = granularity(quote.currency)
    left = quote.customer_total.amount // step
    amounts = []
    for _ in range(draw(st.integers(1, 6))):
        if left <= 1:
            break
        # Small steps now and then, never past what is left of the charge.
        steps = draw(st.one_of(st.integers(1, min(3, left - 1)), st.integers(1, left - 1)))
        amounts.append(steps * step)
        left -= steps
    if draw(st.booleans()):
        amounts.append(left * step)
    return amounts


@settings(max_examples=EXAMPLES, deadline=None)
@given(quotes(), st.sampled_from(ChargeModel), st.data())
def test_every_partial_refund_gives_back_the_same_fee_in_the_fake_stripe_and_the_domain(
    quote_and_policy: tuple[FeeQuote, object], model: ChargeModel, data: st.DataObject
) -> None:
    quote, _ = quote_and_policy
    amounts = data.draw(_refunds(quote))
    clock = FixedClock()
    fake, fake_side = _fake(clock)
    stand_in = StripeStandIn(clock)

    async def both() -> tuple[list[int], list[int]]:
        by_fake = await _fee_refunds(fake_side, clock, quote, model, amounts)
        await fake.wait_for_deliveries()
        by_stripe = await _fee_refunds(_stripe(clock, stand_in), clock, quote, model, amounts)
        return by_fake, by_stripe

    by_fake, by_stripe = asyncio.run(both())
    expected = _expected(quote, amounts)

    assert by_fake == by_stripe, amounts
    # The domain never expects more of the fee back than the refund itself (its split's
    # tenant share is never negative); below that it expects exactly what Stripe gives.
    assert expected == [min(back, amount) for back, amount in zip(by_stripe, amounts, strict=True)]
    assert sum(by_stripe) <= quote.application_fee.amount
    if sum(amounts) == quote.customer_total.amount:
        assert sum(by_stripe) == quote.application_fee.amount
