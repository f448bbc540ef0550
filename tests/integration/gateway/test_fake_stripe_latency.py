"""The fake Stripe's optional latency: none by default, else Stripe-like delays (a median and
a long tail) before it creates, fetches or expires a session and before a refund."""

from __future__ import annotations

import os
import random
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from adapters.fake_stripe import timings as timings_module
from adapters.fake_stripe.gateway import FakeGateway
from adapters.fake_stripe.latency import FakeLatency, InvalidLatency
from adapters.fake_stripe.sql_store import SqlAlchemyFakeStripeStore
from adapters.fake_stripe.store import FakeStripeStore
from adapters.fake_stripe.timings import FakeStripeTimings
from adapters.sql.database import create_engine
from entrypoints.config import ConfigurationError, Settings, load_settings
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore
from tests.integration.gateway.conftest import PUBLIC_BASE_URL
from tests.support.gateway_doubles import FixedClock, RecordedSleeps, WebhookInbox
from tests.support.gateway_requests import (
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    checkout_request,
    refund_request,
)


@pytest.mark.parametrize(
    ("text", "p50", "p99"),
    [(None, 0, 0), ("", 0, 0), ("0", 0, 0), ("120", 120, 480), (" 120 , 900 ", 120, 900)],
)
def test_the_setting_gives_the_median_and_the_tail(text: str | None, p50: int, p99: int) -> None:
    latency = FakeLatency.parse(text)
    assert (latency.p50_ms, latency.p99_ms) == (p50, p99)
    assert latency.enabled is (p50 > 0)


@pytest.mark.parametrize("text", ["fast", "-5", "1.5", "100,50", "1,2,3"])
def test_a_setting_that_says_no_latency_is_refused(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidLatency):
        FakeLatency.parse(text)
    with pytest.raises(ConfigurationError, match="BOOKPAY_FAKE_STRIPE_LATENCY_MS"):
        _load(monkeypatch, {"BOOKPAY_FAKE_STRIPE_LATENCY_MS": text})


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, {"BOOKPAY_FAKE_STRIPE_LATENCY_MS": "250,1200"})
    assert settings.fake_stripe_latency_ms == "250,1200"
    assert _load(monkeypatch, {}).fake_stripe_latency_ms == ""


def test_the_delays_have_the_median_and_the_99th_percentile_asked_for() -> None:
    latency = FakeLatency.parse("200,1000", rng=random.Random(18))
    delays = sorted(latency.draw_seconds() for _ in range(20_000))

    assert statistics.median(delays) == pytest.approx(0.200, rel=0.05)
    assert delays[int(len(delays) * 0.99)] == pytest.approx(1.000, rel=0.10)
    assert min(delays) > 0


def _gateway(
    latency: FakeLatency,
    clock: FixedClock,
    store: FakeStripeStore | None = None,
    timings: FakeStripeTimings | None = None,
) -> FakeGateway:
    return FakeGateway(
        store=store or InMemoryFakeStripeStore(),
        public_base_url=PUBLIC_BASE_URL,
        webhook_secret=WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        deliver=WebhookInbox(),
        clock=clock,
        sleep=RecordedSleeps(),
        latency=latency,
        timings=timings,
    )


async def _onboarded(fake: FakeGateway) -> str:
    """A connected account that finished onboarding; its id."""
    status = await fake.create_connected_account(
        tenant_id="tn_1", country="de", email=None, idempotency_key="acct-1"
    )
    assert status.account_id is not None
    await fake.complete_onboarding(status.account_id)
    return status.account_id


async def test_sessions_and_refunds_wait_the_latency_and_nothing_else_does() -> None:
    clock, waits = FixedClock(), RecordedSleeps()
    fake = _gateway(FakeLatency.parse("100", sleep=waits, rng=random.Random(1)), clock)
    account_id = await _onboarded(fake)
    assert waits.delays == []  # Connect is not what the benchmarks measure

    session = await fake.create_checkout_session(checkout_request(account_id, clock.now))
    await fake.retrieve_checkout_session(session.session_id)
    assert len(waits.delays) == 2
    paid = await fake.pay(session.session_id)
    assert paid.session.payment_intent_id is not None
    await fake.refund(refund_request(paid.session.payment_intent_id, 100))
    await fake.wait_for_deliveries()

    assert len(waits.delays) == 3
    assert all(delay > 0 for delay in waits.delays)


async def test_without_a_setting_the_fake_never_waits() -> None:
    clock, waits = FixedClock(), RecordedSleeps()
    fake = _gateway(FakeLatency.parse(None, sleep=waits), clock)
    account_id = await _onboarded(fake)
    session = await fake.create_checkout_session(checkout_request(account_id, clock.now))
    await fake.retrieve_checkout_session(session.session_id)

    assert waits.delays == []


class _Ticks:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@asynccontextmanager
async def _timed_on_sqlite() -> AsyncIterator[
    tuple[FakeGateway, FakeStripeTimings, FixedClock, RecordedSleeps]
]:
    """A fake with latency, its store on SQLite in memory, timed by a clock that ticks a
    second at each reading; the engine is disposed of afterwards."""
    clock, waits = FixedClock(), RecordedSleeps()
    timings = FakeStripeTimings(clock=_Ticks())
    engine = create_engine("sqlite+aiosqlite://")
    store = SqlAlchemyFakeStripeStore(engine, timings)
    fake = _gateway(
        FakeLatency.parse("100", sleep=waits, rng=random.Random(3)), clock, store, timings
    )
    try:
        yield fake, timings, clock, waits
    finally:
        await engine.dispose()


async def test_a_session_call_is_split_into_its_delay_its_pool_wait_and_its_statements() -> None:
    async with _timed_on_sqlite() as (fake, timings, clock, waits):
        account_id = await _onboarded(fake)
        assert timings.reading()["calls"] == 0  # no latency, not what the benchmark splits

        await fake.create_checkout_session(checkout_request(account_id, clock.now))

    read = timings.reading()
    assert read["calls"] == 1
    assert read["injected_seconds"] == pytest.approx(waits.delays[0])
    # One transaction: the account read, the session stored with its key (Stripe's own
    # database work costs the caller nothing, so the stand-in's is kept to one connection).
    assert read["connections"] == 1
    # The connection: asked, got, given back (a tick each): a tick waited, a tick held.
    assert read["pool_wait_seconds"] == 1.0
    assert read["holding_seconds"] == 1.0
    assert read["call_seconds"] > read["pool_wait_seconds"] + read["holding_seconds"]
    # Each call kept too, so a load's injected percentiles are the ones drawn in it.
    assert timings.samples() == {
        "injected_seconds": [waits.delays[0]],
        "call_seconds": [read["call_seconds"]],
    }
    assert timings.samples(since=1) == {"injected_seconds": [], "call_seconds": []}


async def test_a_session_is_fetched_with_its_payment_intent_on_one_connection() -> None:
    async with _timed_on_sqlite() as (fake, timings, clock, _):
        account_id = await _onboarded(fake)
        session = await fake.create_checkout_session(checkout_request(account_id, clock.now))
        await fake.pay(session.session_id)
        before = timings.reading()["connections"]

        fetched = await fake.retrieve_checkout_session(
            session.session_id, account_id=session.account_id
        )

    assert fetched.payment_intent_status is not None  # expanded, as StripeGateway asks
    # One statement reads the session and its payment intent together.
    assert timings.reading()["connections"] - before == 1


def _load(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """Settings from exactly these variables: every other BOOKPAY_* one is unset."""
    for name in list(os.environ):
        if name.startswith("BOOKPAY_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


async def test_a_long_running_fake_keeps_its_latest_samples_and_finds_them_by_call_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past MAX_SAMPLES calls the oldest are forgotten, yet `since` still counts every call
    ever made, so a load begun after the limit gets its own calls, not nothing."""
    monkeypatch.setattr(timings_module, "MAX_SAMPLES", 4)
    ticks = iter(range(1000))
    timings = FakeStripeTimings(clock=lambda: float(next(ticks)))
    for _ in range(7):
        async with timings.call():
            pass
    before_the_load = int(timings.reading()["calls"])
    for _ in range(2):
        async with timings.call():
            pass
    assert before_the_load == 7
    assert len(timings.samples(since=before_the_load)["call_seconds"]) == 2
    assert len(timings.call_samples) <= 4
