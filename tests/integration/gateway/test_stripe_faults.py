"""StripeGateway under faults: bounded retries with the same Idempotency-Key, and every
Stripe error mapped to a named application error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import stripe

from adapters.stripe.gateway import StripeGateway
from application.errors import (
    CardDeclined,
    GatewayAuthenticationFailed,
    GatewayError,
    GatewayInvalidRequest,
    GatewayOutcomeUnknown,
    GatewayRateLimited,
    GatewayUnavailable,
)
from application.ports.gateway import CheckoutSession
from tests.support.gateway_doubles import FixedClock, RecordedSleeps
from tests.support.gateway_requests import checkout_request, refund_request
from tests.support.stripe_http import (
    BAD_REQUEST,
    CARD_DECLINED,
    FORBIDDEN,
    RATE_LIMITED,
    SERVER_ERROR,
    UNAUTHORIZED,
    HTTPFault,
    RecordingStripeHTTPClient,
    StripeStandIn,
    Timeout,
)

Call = Callable[[], Awaitable[CheckoutSession]]


@pytest.fixture
async def account_id(stripe_gateway: StripeGateway, stand_in: StripeStandIn) -> str:
    status = await stripe_gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email=None, idempotency_key="bookpay-account-tn_0001"
    )
    assert status.account_id is not None
    stand_in.complete_onboarding(status.account_id)
    return status.account_id


@pytest.fixture
def create_session(stripe_gateway: StripeGateway, account_id: str, clock: FixedClock) -> Call:
    return lambda: stripe_gateway.create_checkout_session(checkout_request(account_id, clock()))


@pytest.fixture
def recorder_after_setup(
    recorder: RecordingStripeHTTPClient, account_id: str
) -> RecordingStripeHTTPClient:
    recorder.requests.clear()
    return recorder


@pytest.mark.parametrize(
    "fault",
    [
        Timeout(),
        Timeout(after_processing=True),
        SERVER_ERROR,
        HTTPFault(503),
        RATE_LIMITED,
        HTTPFault(
            409, "invalid_request_error", "lock_timeout", headers={"Stripe-Should-Retry": "true"}
        ),
    ],
    ids=["timeout", "timeout-after-processing", "500", "503", "429", "409-should-retry"],
)
async def test_a_passing_fault_is_retried_with_the_same_idempotency_key(
    recorder_after_setup: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    sleeps: RecordedSleeps,
    create_session: Call,
    fault: Timeout | HTTPFault,
) -> None:
    recorder = recorder_after_setup
    recorder.inject(fault, fault)

    session = await create_session()

    assert len(recorder.requests) == 3
    assert {request.idempotency_key for request in recorder.requests} == {
        "bookpay-checkout-bk_0001-1"
    }
    assert {request.body for request in recorder.requests} == {recorder.requests[0].body}
    assert sleeps.delays == [0.5, 1.0]
    # Stripe did the work at most once, even when the first response was lost.
    assert list(stand_in.sessions) == [session.session_id]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Timeout(), GatewayUnavailable),
        (SERVER_ERROR, GatewayUnavailable),
        (RATE_LIMITED, GatewayRateLimited),
    ],
    ids=["timeout", "500", "429"],
)
async def test_a_lasting_fault_gives_up_after_bounded_retries(
    recorder_after_setup: RecordingStripeHTTPClient,
    sleeps: RecordedSleeps,
    create_session: Call,
    fault: Timeout | HTTPFault,
    error: type[GatewayError],
) -> None:
    recorder = recorder_after_setup
    recorder.inject(*[fault] * 10)

    with pytest.raises(error) as raised:
        await create_session()

    assert not isinstance(raised.value, stripe.StripeError)
    assert len(recorder.requests) == 4
    assert len({request.idempotency_key for request in recorder.requests}) == 1
    assert sleeps.delays == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (CARD_DECLINED, CardDeclined),
        (BAD_REQUEST, GatewayInvalidRequest),
        (HTTPFault(404, "invalid_request_error", "resource_missing"), GatewayInvalidRequest),
        # Not a refusal: the key's first request may have been acted on.
        (HTTPFault(400, "idempotency_error"), GatewayOutcomeUnknown),
        (UNAUTHORIZED, GatewayAuthenticationFailed),
        (FORBIDDEN, GatewayAuthenticationFailed),
        (HTTPFault(500, headers={"Stripe-Should-Retry": "false"}), GatewayUnavailable),
    ],
    ids=[
        "402",
        "400",
        "404",
        "idempotency-other-parameters",
        "401",
        "403",
        "500-do-not-retry",
    ],
)
async def test_a_refusal_is_mapped_and_not_retried(
    recorder_after_setup: RecordingStripeHTTPClient,
    sleeps: RecordedSleeps,
    create_session: Call,
    fault: HTTPFault,
    error: type[GatewayError],
) -> None:
    recorder = recorder_after_setup
    recorder.inject(fault)

    with pytest.raises(error) as raised:
        await create_session()

    assert type(raised.value) is error
    assert isinstance(raised.value.__cause__, stripe.StripeError)
    assert len(recorder.requests) == 1
    assert sleeps.delays == []


async def test_reads_are_retried_too(
    stripe_gateway: StripeGateway,
    recorder_after_setup: RecordingStripeHTTPClient,
    create_session: Call,
) -> None:
    session = await create_session()
    recorder = recorder_after_setup
    recorder.requests.clear()
    recorder.inject(Timeout(), SERVER_ERROR)

    retrieved = await stripe_gateway.retrieve_checkout_session(session.session_id)

    assert retrieved == session
    assert [request.method for request in recorder.requests] == ["GET"] * 3


async def test_every_write_keeps_its_key_across_retries(
    stripe_gateway: StripeGateway,
    recorder_after_setup: RecordingStripeHTTPClient,
    stand_in: StripeStandIn,
    create_session: Call,
    account_id: str,
) -> None:
    recorder = recorder_after_setup
    session = await create_session()
    payment_intent_id = stand_in.complete_session(session.session_id)
    recorder.requests.clear()

    recorder.inject(SERVER_ERROR)
    await stripe_gateway.refund(refund_request(payment_intent_id, 1000))
    recorder.inject(SERVER_ERROR)
    await stripe_gateway.create_onboarding_link(
        account_id=account_id, refresh_url="https://a.example", return_url="https://b.example"
    )
    recorder.inject(Timeout())
    await stripe_gateway.create_connected_account(
        tenant_id="tn_0002", country="fr", email=None, idempotency_key="bookpay-account-tn_0002"
    )

    keys = [request.idempotency_key for request in recorder.requests]
    assert keys[0] == keys[1] == "bookpay-refund-bk_0001-1"
    assert keys[2] == keys[3]
    assert keys[2] is not None
    assert keys[2] == f"bookpay-link-{account_id}-key1"
    assert keys[4] == keys[5] == "bookpay-account-tn_0002"
