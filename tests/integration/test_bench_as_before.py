"""bench/as_before.py really takes the two later features away: within its patch, a
completion that matches its booking is applied without asking the gateway (the same one
waits for the gateway without it), and a confirmation writes no event to the outbox (one
does without it). Through HTTP with the fake gateway, on SQLite and PostgreSQL. Its
checkout keeps the base's shape around the gateway call (no connection held across it),
and a server of several workers is patched in every worker. Its later cuts are taken away
too: within them every checkout of a pooled PostgreSQL connection pings it (none does
without them, right after use), and a checkout counts the customer's unpaid bookings with
the base's unindexed statement (head's indexed one without them), to the same number."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import create_engine
from adapters.sql.events_out_tables import outbox_events
from adapters.stripe_wire import signature as stripe_signature
from application.ports.gateway import PaymentGateway
from bench.as_before import BANNER, banners, later_cuts_off, later_features_off
from bench.before_after_trees import head_without_tree, serving, tree_database
from tests.support.gateway_doubles import SessionsUnreadable
from tests.support.http_app import WEBHOOK_SECRET
from tests.support.http_flows import open_checkout
from tests.support.pool_watch import PoolWatch, WatchedGateway
from tests.support.webhook_shop import ENGINES, PAID, Shop, session_event, shop_on

COMPLETED = "checkout.session.completed"


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


async def _paid_at_stripe(shop: Shop) -> tuple[dict[str, str], str, dict[str, Any]]:
    """A 42.30 USD checkout the customer paid at Stripe, its webhook lost: the tenant, the
    booking (still pending) and a completion event that matches it."""
    tenant, checkout = await open_checkout(shop.client)
    booking_id, url = checkout["booking_id"], checkout["checkout_url"]
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    paid = await shop.client.post(url + "/pay", data={"method": "card"}, follow_redirects=False)
    assert paid.status_code == 303, paid.text

    async def payment_intent() -> str | None:
        gateway: PaymentGateway = shop.container.gateway()
        session = await gateway.retrieve_checkout_session(session_id)
        return session.payment_intent_id

    intent = await shop.in_app(payment_intent)
    assert (await shop.booking(tenant, booking_id))["status"] == "pending_payment"
    event = session_event(
        COMPLETED, session_id, booking_id, payment_status="paid", payment_intent=intent
    )
    return tenant, booking_id, event


async def _deliver(shop: Shop, event: dict[str, Any]) -> int:
    body = json.dumps(event).encode()
    answer = await shop.client.post(
        "/v1/webhooks/stripe",
        content=body,
        headers={
            "Stripe-Signature": stripe_signature.sign(body, WEBHOOK_SECRET, datetime.now(UTC)),
            "Content-Type": "application/json",
        },
    )
    return answer.status_code


async def _events_out(shop: Shop) -> int:
    async def count() -> int:
        async with shop.container.engine().connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(outbox_events)))

    return await shop.in_app(count)


async def test_the_patch_fetches_no_matching_session_and_writes_no_event_out(
    database_url: str | None, tmp_path: Path
) -> None:
    async with shop_on(database_url, tmp_path, SessionsUnreadable) as shop:
        link: SessionsUnreadable = shop.container.gateway()
        shop.lost.add(COMPLETED)
        tenant, patched, event_patched = await _paid_at_stripe(shop)
        other, unpatched, event_unpatched = await _paid_at_stripe(shop)
        link.down = True

        # As the product is: even a matching completion waits for the gateway.
        assert await _deliver(shop, event_unpatched) == 503
        with later_features_off():
            before = await _events_out(shop)
            assert await _deliver(shop, event_patched) == 200
            assert await _events_out(shop) == before
        assert (await shop.booking(tenant, patched))["status"] == "confirmed"
        assert await shop.ledger(tenant, patched) == PAID

        # Restored on the way out: the gateway is asked again, and the confirmation goes out.
        link.down = False
        assert await _deliver(shop, event_unpatched) == 200
        assert (await shop.booking(other, unpatched))["status"] == "confirmed"
        assert await _events_out(shop) == before + 1


async def _pings_over_checkouts(url: str, monkeypatch: pytest.MonkeyPatch, checkouts: int) -> int:
    """The pings of a one-connection engine made by the product's create_engine over
    `checkouts` units of work, one right after the other."""
    engine = create_engine(url, pool_size=1)
    pings = 0
    ping = engine.sync_engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        nonlocal pings
        pings += 1
        return bool(ping(dbapi_connection))

    monkeypatch.setattr(engine.sync_engine.dialect, "do_ping", counted)
    try:
        for _ in range(checkouts):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    return pings


@pytest.mark.postgres
async def test_within_the_cuts_every_checkout_pings_as_the_base_did(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The base's pool_pre_ping pinged at every checkout; head pings only after 5 s idle."""
    assert await _pings_over_checkouts(fresh_postgres_url, monkeypatch, 3) == 0
    with later_cuts_off():
        assert await _pings_over_checkouts(fresh_postgres_url, monkeypatch, 3) == 3
    assert await _pings_over_checkouts(fresh_postgres_url, monkeypatch, 3) == 0


class _Counts:
    """The statements that count bookings, as an engine sends them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sent: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        statement = " ".join(str(args[2]).split())
        if statement.startswith("SELECT count(*)") and "FROM bookings" in statement:
            self.sent.append(statement)

    def taken(self) -> list[str]:
        sent, self.sent = self.sent, []
        return sent


async def _unpaid_of(shop: Shop, booking_id: str, email: str) -> int:
    """The count a checkout makes of `email`'s unpaid bookings, at the booking's tenant."""

    async def count() -> int:
        async with shop.container.engine().connect() as connection:
            tenant_id = await connection.scalar(
                text("SELECT tenant_id FROM bookings WHERE id = :id"), {"id": booking_id}
            )
        async with shop.container.uow()() as uow:
            return int(await uow.bookings.count_pending_for_customer(str(tenant_id), email))

    return await shop.in_app(count)


async def test_within_the_cuts_a_checkout_counts_unpaid_bookings_unindexed_as_the_base_did(
    database_url: str | None, tmp_path: Path
) -> None:
    async with shop_on(database_url, tmp_path) as shop:
        counts = _Counts(shop.container.engine())
        _tenant, head = await open_checkout(shop.client)
        (heads,) = counts.taken()
        with later_cuts_off():
            _tenant, base = await open_checkout(shop.client)
            (bases,) = counts.taken()
            unpaid_as_the_base = await _unpaid_of(shop, base["booking_id"], "ADA@example.com")
        unpaid_as_head = await _unpaid_of(shop, base["booking_id"], "ADA@example.com")

    assert "customer_email_lower" in heads
    assert "lower(bookings.customer_email)" not in heads
    assert "lower(bookings.customer_email)" in bases
    assert "customer_email_lower" not in bases
    assert head["checkout_url"]
    assert base["checkout_url"]
    assert unpaid_as_the_base == unpaid_as_head == 1


def test_it_serves_on_the_loop_and_parser_the_base_served_on() -> None:
    """head-without holds the server stack equal to the base's: asyncio's own loop and h11,
    whatever head's `uvicorn_options` ask for (uvloop and httptools)."""
    from bench.as_before import as_the_base_serves

    def head_options(*_: Any) -> dict[str, Any]:
        return {"port": 8000, "loop": "uvloop", "http": "httptools"}

    served = as_the_base_serves(head_options)()

    assert served == {"port": 8000, "loop": "asyncio", "http": "h11"}


async def test_its_checkout_asks_the_gateway_holding_no_connection_as_the_base_did(
    database_url: str | None, tmp_path: Path
) -> None:
    """Nothing of the checkout is taken away, and nothing need be: the base (94bff09) also
    committed the hold's unit of work before asking the gateway, and attached the session
    in another (48c4eb3 only added the test that says so, which passes on the base)."""
    watch = PoolWatch()
    watched = lambda inner: WatchedGateway(inner, watch)  # noqa: E731
    async with shop_on(database_url, tmp_path, watched) as shop:
        watch.attach(shop.container.engine())
        with later_features_off():
            _tenant, checkout = await open_checkout(shop.client)

    assert checkout["checkout_url"]
    assert "create_checkout_session" in watch.calls
    assert watch.violations == []


@pytest.mark.slow
def test_every_worker_of_a_two_worker_server_is_served_patched() -> None:
    """uvicorn spawns each worker, which runs bench.as_before again as `__mp_main__` and
    patches itself: the launcher and both workers log the banner, on an SQLite file that
    head-without's own `bookpay migrate` made, as bench.before_after serves it."""
    tree = head_without_tree()
    with tree_database(tree, "sqlite") as url, serving(tree, url, {}, workers=2) as server:
        # Ready means one worker serves; the other may still be starting.
        for _ in range(300):
            logged = server.log_text()
            if logged.count("Application startup complete") >= 2:
                break
            time.sleep(0.1)

    assert banners(2) == 3
    assert logged.count(BANNER) == 3, logged
    assert banners(1) == 1
