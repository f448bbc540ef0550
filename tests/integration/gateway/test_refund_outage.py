"""The outage test (issue 12): the Stripe gateway pointed at a dead port claims no refund;
with Stripe back, a retry or reconciliation makes each refund exactly once.

The real StripeGateway, through the SDK's own HTTP client over a real socket, talks to the
Stripe stand-in (tests/support/stripe_http.py) served on a local port — or to nothing at
all on that port while Stripe is "down". Bookings live in the in-memory repositories, or
in a database of the test's own on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from adapters.sql.database import create_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from adapters.stripe.gateway import StripeGateway
from application.cancel_booking import CancelBooking, CancelCommand
from application.errors import GatewayUnavailable
from application.ports.unit_of_work import UnitOfWork
from application.refund_booking import RefundBooking, RefundCommand
from application.settle_reserved_refunds import SettleReservedRefunds
from domain.booking import Booking, BookingStatus, CancelledBy
from domain.fees import FeePolicy
from domain.money import Money
from domain.tenant import Tenant
from tests.fakes.clock import ManualClock
from tests.fakes.database import InMemoryDatabase
from tests.integration.persistence.builders import NOW, a_booking, a_slot, a_tenant, an_offering
from tests.support.gateway_doubles import FixedClock
from tests.support.gateway_requests import (
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    checkout_request,
)
from tests.support.servers import serve_in_thread
from tests.support.stripe_http import RecordedRequest, StripeStandIn
from tests.support.workers import free_port

pytestmark = [
    pytest.mark.refunds,
    # stripe's HTTPXClient posts the form as `data=<str>`, which httpx 0.28 deprecates.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

# What checkout_request charges: two seats of 25.00 EUR plus a 2.50 EUR fee.
QUOTE = FeePolicy(percent_bps=500).quote(Money(2500, "eur"), 2)


class StripeOnAPort:
    """The stand-in served over HTTP on a fixed local port, which can go dark and come back."""

    def __init__(self, stand_in: StripeStandIn) -> None:
        self.stand_in = stand_in
        self._lock = threading.Lock()
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                recorded = RecordedRequest(
                    self.command, outer.base + self.path, dict(self.headers.items()), body
                )
                with outer._lock:
                    status, answer = outer.stand_in.handle(recorded)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        serve_in_thread(self._server)

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def refunds_of(self, payment_intent_id: str) -> list[int]:
        return sorted(
            r["amount"]
            for r in self.stand_in.refunds.values()
            if r["payment_intent"] == payment_intent_id
        )


@dataclass
class Shop:
    uow: Callable[[], UnitOfWork]
    stripe: StripeOnAPort
    stripe_clock: FixedClock
    gateway: StripeGateway
    cancel: CancelBooking
    refund: RefundBooking
    reconcile_refunds: SettleReservedRefunds

    async def booking(self, booking: Booking) -> Booking:
        async with self.uow() as uow:
            found = await uow.bookings.get(booking.tenant_id, booking.id)
        assert found is not None
        return found

    async def ledger_refunds(self, booking: Booking) -> list[int]:
        async with self.uow() as uow:
            entries = await uow.ledger.list_for_booking(booking.tenant_id, booking.id)
        return sorted(e.amount.amount for e in entries if e.kind.value == "refund")


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def stripe_clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def stripe_on_a_port(stripe_clock: FixedClock) -> Iterator[StripeOnAPort]:
    served = StripeOnAPort(StripeStandIn(stripe_clock))
    served.up()
    yield served
    served.down()


STORES = [
    pytest.param(None, id="memory"),
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
async def unit_of_work(store_url: str | None) -> Any:
    if store_url is None:
        yield InMemoryDatabase().unit_of_work
        return
    engine = create_engine(store_url)  # a copy of the migrated template
    try:
        yield lambda: SqlAlchemyUnitOfWork(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def shop(stripe_on_a_port: StripeOnAPort, stripe_clock: FixedClock, unit_of_work: Any) -> Any:
    gateway = StripeGateway(
        "sk_test_outage",
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        api_base=stripe_on_a_port.base,
        retry_delays=(0.0, 0.0),
        sleep=_no_sleep,
        timeout_seconds=5,
    )
    clock = ManualClock(NOW)
    uow = unit_of_work
    yield Shop(
        uow,
        stripe_on_a_port,
        stripe_clock,
        gateway,
        CancelBooking(uow, gateway, clock),
        RefundBooking(uow, gateway, clock),
        SettleReservedRefunds(uow, gateway, clock),
    )
    await gateway.aclose()


async def _paid_bookings(shop: Shop, count: int) -> list[Booking]:
    """`count` bookings of one tenant, each paid through its own Checkout Session."""
    stand_in, gateway = shop.stripe.stand_in, shop.gateway
    connect = await gateway.create_connected_account(
        tenant_id="tn_outage", country="de", email=None, idempotency_key="bookpay-account-1"
    )
    assert connect.account_id is not None
    stand_in.complete_onboarding(connect.account_id)
    tenant: Tenant = a_tenant()
    tenant = replace(tenant, connect=replace(tenant.connect, account_id=connect.account_id))
    offering = an_offering(tenant.id)
    slot = a_slot(offering)
    bookings = []
    for number in range(count):
        session = await gateway.create_checkout_session(
            checkout_request(
                connect.account_id,
                shop.stripe_clock(),
                booking_id=f"bk_{number:04d}",
                customer_bears_fee=True,
            )
        )
        payment_intent_id = stand_in.complete_session(session.session_id)
        bookings.append(a_booking(slot, quote=QUOTE).confirm(payment_intent_id))
    async with shop.uow() as uow:
        await uow.tenants.add(tenant)
        await uow.offerings.add(offering)
        await uow.slots.add(slot)
        for booking in bookings:
            await uow.bookings.add(booking)
        await uow.commit()
    return bookings


async def test_stripe_unreachable_claims_no_refund_and_each_is_made_once_when_it_is_back(
    shop: Shop,
) -> None:
    retried, reconciled, refunded = await _paid_bookings(shop, 3)
    shop.stripe.down()

    for _ in range(2):  # the client retries while Stripe is unreachable: each answer says so
        with pytest.raises(GatewayUnavailable):
            await shop.cancel(CancelCommand(retried.id, CancelledBy.TENANT, retried.tenant_id))
        with pytest.raises(GatewayUnavailable):
            await shop.cancel(
                CancelCommand(reconciled.id, CancelledBy.TENANT, reconciled.tenant_id)
            )
        with pytest.raises(GatewayUnavailable):
            await shop.refund(RefundCommand(refunded.tenant_id, refunded.id, Money(1000, "eur")))
    report = await shop.reconcile_refunds()
    assert sorted(report.still_unknown) == sorted(b.id for b in (retried, reconciled, refunded))

    for booking in (retried, reconciled, refunded):  # nothing is claimed refunded
        during = await shop.booking(booking)
        assert during.status is BookingStatus.CONFIRMED
        assert during.refunded.customer_refund.is_zero
        assert len(during.unknown_refunds) == 1
        assert await shop.ledger_refunds(booking) == []
        assert booking.payment_intent_id is not None
        assert shop.stripe.refunds_of(booking.payment_intent_id) == []

    shop.stripe.up()
    cancelled = await shop.cancel(CancelCommand(retried.id, CancelledBy.TENANT, retried.tenant_id))
    more = await shop.refund(RefundCommand(refunded.tenant_id, refunded.id, Money(500, "eur")))
    report = await shop.reconcile_refunds()
    again = await shop.reconcile_refunds()

    assert cancelled.status is BookingStatus.CANCELLED
    assert cancelled.refunded.customer_refund == QUOTE.customer_total
    assert more.refunded.customer_refund == Money(1500, "eur")
    assert report.still_unknown == []
    assert (again.settled, again.released, again.still_unknown) == ([], [], [])
    by_reconciliation = await shop.booking(reconciled)
    assert by_reconciliation.status is BookingStatus.CANCELLED
    assert report.settled == [r.refund_id for r in by_reconciliation.refunds]
    total = QUOTE.customer_total.amount
    for booking, made in ((retried, [total]), (reconciled, [total]), (refunded, [500, 1000])):
        assert booking.payment_intent_id is not None
        assert shop.stripe.refunds_of(booking.payment_intent_id) == made
        assert await shop.ledger_refunds(booking) == made
        assert (await shop.booking(booking)).unknown_refunds == ()
