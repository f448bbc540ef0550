"""StripeGateway through the SDK's real HTTPX client (the production path), answered by the
stand-in through an httpx transport instead of a socket."""

from __future__ import annotations

import json

import httpx
import pytest
import stripe

from adapters.stripe.gateway import STRIPE_API_VERSION, StripeGateway
from application.errors import GatewayUnavailable
from tests.integration.gateway.conftest import STRIPE_API_BASE
from tests.support.gateway_doubles import FixedClock, RecordedSleeps
from tests.support.gateway_requests import (
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    checkout_request,
)
from tests.support.stripe_http import RecordedRequest, StripeStandIn
from tests.support.stripe_openapi import stripe_openapi


class StandInTransport(httpx.AsyncBaseTransport):
    def __init__(self, stand_in: StripeStandIn) -> None:
        self.stand_in = stand_in
        self.requests: list[RecordedRequest] = []
        self.timeouts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        recorded = RecordedRequest(
            request.method, str(request.url), dict(request.headers), request.content.decode()
        )
        self.requests.append(recorded)
        if self.timeouts:
            self.timeouts -= 1
            raise httpx.ReadTimeout("timed out", request=request)
        status, body = self.stand_in.handle(recorded)
        return httpx.Response(status, content=json.dumps(body).encode())


# stripe 16.1's HTTPXClient posts the form as `data=<str>`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def transport(stand_in: StripeStandIn) -> StandInTransport:
    return StandInTransport(stand_in)


@pytest.fixture
async def gateway(transport: StandInTransport, clock: FixedClock, sleeps: RecordedSleeps):  # type: ignore[no-untyped-def]
    client = stripe.HTTPXClient(timeout=5)
    client._client_async = httpx.AsyncClient(transport=transport)
    gateway = StripeGateway(
        "sk_test_over_httpx",
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        api_base=STRIPE_API_BASE,
        http_client=client,
        sleep=sleeps,
        clock=clock,
    )
    yield gateway
    await gateway.aclose()


async def test_a_checkout_over_http_with_a_timeout_on_the_way(
    gateway: StripeGateway,
    transport: StandInTransport,
    stand_in: StripeStandIn,
    clock: FixedClock,
    sleeps: RecordedSleeps,
) -> None:
    status = await gateway.create_connected_account(
        tenant_id="tn_0001", country="de", email=None, idempotency_key="bookpay-account-tn_0001"
    )
    assert status.account_id is not None
    stand_in.complete_onboarding(status.account_id)
    transport.timeouts = 1

    session = await gateway.create_checkout_session(checkout_request(status.account_id, clock()))

    assert session.session_id.startswith("cs_test_")
    account, *checkouts = transport.requests
    assert account.headers["authorization"] == "Bearer sk_test_over_httpx"
    assert len(checkouts) == 2
    assert {r.headers["idempotency-key"] for r in checkouts} == {"bookpay-checkout-bk_0001-1"}
    assert sleeps.delays == [0.5]
    for request in transport.requests:
        assert request.url.startswith(f"{STRIPE_API_BASE}/v1/")
        assert request.headers["stripe-version"] == STRIPE_API_VERSION
        assert stripe_openapi().validate(request.method, request.path, request.body) == []


async def test_a_lasting_network_failure_is_unavailable(
    gateway: StripeGateway, transport: StandInTransport
) -> None:
    transport.timeouts = 100

    with pytest.raises(GatewayUnavailable):
        await gateway.retrieve_account("acct_1")

    assert len(transport.requests) == 4


async def test_the_default_client_is_built_without_touching_the_network() -> None:
    gateway = StripeGateway(
        "sk_test_default", webhook_secret="whsec_a", connect_webhook_secret="whsec_b"
    )

    assert "sk_test_default" not in repr(gateway)
    await gateway.aclose()
