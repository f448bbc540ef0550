"""Both gateways, wired to in-process doubles: no network, no real sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from adapters.stripe.gateway import StripeGateway
from application.ports.gateway import CheckoutSession, PaymentGateway
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore
from tests.support.gateway_doubles import FixedClock, RecordedSleeps, WebhookInbox
from tests.support.gateway_requests import CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET
from tests.support.stripe_http import RecordingStripeHTTPClient, StripeStandIn

STRIPE_API_BASE = "http://stripe-stand-in.test"
PUBLIC_BASE_URL = "http://bookpay.test"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def stand_in(clock: FixedClock) -> StripeStandIn:
    return StripeStandIn(clock)


@pytest.fixture
def recorder(stand_in: StripeStandIn) -> RecordingStripeHTTPClient:
    return RecordingStripeHTTPClient(stand_in)


@pytest.fixture
def stripe_gateway(
    recorder: RecordingStripeHTTPClient, clock: FixedClock, sleeps: RecordedSleeps
) -> StripeGateway:
    keys = iter(f"key{n}" for n in range(1, 1000))
    return StripeGateway(
        "sk_test_bookpay_secret",
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        api_base=STRIPE_API_BASE,
        http_client=recorder,
        retry_delays=(0.5, 1.0, 2.0),
        sleep=sleeps,
        clock=clock,
        new_key=lambda: next(keys),
    )


@pytest.fixture
def inbox() -> WebhookInbox:
    return WebhookInbox()


@pytest.fixture
async def fake_gateway(
    clock: FixedClock, inbox: WebhookInbox, sleeps: RecordedSleeps
) -> AsyncIterator[FakeGateway]:
    gateway = FakeGateway(
        store=InMemoryFakeStripeStore(),
        public_base_url=PUBLIC_BASE_URL,
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        deliver=inbox,
        clock=clock,
        retry_delays=(1.0, 5.0, 30.0),
        sleep=sleeps,
    )
    yield gateway
    await gateway.wait_for_deliveries()


@dataclass
class GatewayHarness:
    """One gateway under the contract, and how its customer pays and its tenant onboards."""

    name: str
    gateway: PaymentGateway
    clock: FixedClock
    pay: Callable[[CheckoutSession], Awaitable[str]]
    onboard: Callable[[str], Awaitable[None]]
    # The customer completes checkout with a delayed method (its payment intent's id),
    # and later that payment fails.
    pay_later: Callable[[CheckoutSession], Awaitable[str]]
    payment_fails: Callable[[CheckoutSession], Awaitable[None]]


@pytest.fixture(params=["fake", "stripe"])
def harness(
    request: pytest.FixtureRequest,
    clock: FixedClock,
    fake_gateway: FakeGateway,
    stripe_gateway: StripeGateway,
    stand_in: StripeStandIn,
) -> GatewayHarness:
    if request.param == "fake":

        async def pay_fake(session: CheckoutSession) -> str:
            outcome = await fake_gateway.pay(session.session_id)
            assert outcome.session.payment_intent_id is not None
            return outcome.session.payment_intent_id

        async def onboard_fake(account_id: str) -> None:
            await fake_gateway.complete_onboarding(account_id)

        async def pay_later_fake(session: CheckoutSession) -> str:
            outcome = await fake_gateway.start_delayed_payment(session.session_id)
            assert outcome.session.payment_intent_id is not None
            return outcome.session.payment_intent_id

        async def payment_fails_fake(session: CheckoutSession) -> None:
            await fake_gateway.fail_delayed_payment(session.session_id)

        return GatewayHarness(
            "fake",
            fake_gateway,
            clock,
            pay_fake,
            onboard_fake,
            pay_later_fake,
            payment_fails_fake,
        )

    async def pay_stripe(session: CheckoutSession) -> str:
        return stand_in.complete_session(session.session_id)

    async def onboard_stripe(account_id: str) -> None:
        stand_in.complete_onboarding(account_id)

    async def pay_later_stripe(session: CheckoutSession) -> str:
        return stand_in.complete_session(session.session_id, paid=False)

    async def payment_fails_stripe(session: CheckoutSession) -> None:
        stand_in.fail_delayed_payment(session.session_id)

    return GatewayHarness(
        "stripe",
        stripe_gateway,
        clock,
        pay_stripe,
        onboard_stripe,
        pay_later_stripe,
        payment_fails_stripe,
    )
