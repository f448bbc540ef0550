"""The demo of `make run`: every offering has slots, a restart shows the open checkout
again instead of holding more seats, and a new tenant key can be issued (issue 15)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.sql.migrations import migrate
from application.credentials import hash_secret
from application.errors import NotFound
from domain.booking import BookingStatus
from domain.cancellation import CancellationPolicy, CancellationWindow
from entrypoints.cli import stable_admin_key
from entrypoints.config import GatewayKind, Settings, WebhookMode
from entrypoints.container import build_container
from entrypoints.demo import DEMO_SLUG, DEMO_TIMES, demo_slot_times, seed_demo
from tests.support.http_app import ADMIN_KEY, CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET

BASE = "http://127.0.0.1:8123"


def _settings(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    migrate(url)
    return Settings(
        database_url=url,
        gateway=GatewayKind.FAKE,
        admin_api_key=ADMIN_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        public_base_url=BASE,
    )


async def test_a_second_run_shows_the_same_checkout_and_every_offering_has_slots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    await seed_demo(settings, BASE)
    first = capsys.readouterr().out
    await seed_demo(settings, BASE)
    second = capsys.readouterr().out
    (url,) = {line.split()[-1] for line in first.splitlines() if "/fake-stripe/checkout/" in line}
    assert url in second
    # A newcomer books in a browser from the demo tenant's booking page (issue 16).
    assert f"{BASE}/book/{DEMO_SLUG}" in first

    container = build_container(settings)
    try:
        async with container.uow()() as uow:
            tenant = await uow.tenants.get_by_slug(DEMO_SLUG)
        assert tenant is not None
        pending = await container.booking_queries().list_for_tenant(
            tenant.id,
            statuses=(BookingStatus.PENDING_PAYMENT,),
            starts_from=None,
            starts_before=None,
            limit=50,
            cursor=None,
        )
        assert len(pending.items) == 1
        offerings = await container.list_public_offerings()(DEMO_SLUG)
        assert {o.price.currency for o in offerings} == {"usd", "jpy"}
        now = datetime.now(UTC)
        for offering in offerings:
            availability = await container.list_availability()(DEMO_SLUG, offering.id)
            assert len(availability.slots) == 7, offering.name
            # Sensible hours on the studio's own clock (not 4 AM), on the coming days ...
            local = [s.starts_at.astimezone(ZoneInfo(tenant.timezone)) for s in availability.slots]
            assert {t.time() for t in local} == {DEMO_TIMES[offering.name]}
            assert len({t.date() for t in local}) == 7
            assert local[0] - now < timedelta(days=4)
            # ... and the first one can still be cancelled with a full refund.
            policy = offering.cancellation_policy or CancellationPolicy()
            assert policy.refund_percent(availability.slots[0].starts_at, now) == 100

        issued = await container.issue_tenant_api_key().by_slug(DEMO_SLUG, label="test")
        async with container.uow()() as uow:
            owner = await uow.tenants.find_by_api_key_hash(hash_secret(issued.api_key))
        assert owner is not None
        assert owner.id == tenant.id
        with pytest.raises(NotFound):
            await container.issue_tenant_api_key().by_slug("no-such-studio", label="test")
    finally:
        await container.engine().dispose()


def test_demo_slots_keep_their_local_hour_across_a_dst_change() -> None:
    policy = CancellationPolicy((CancellationWindow(48, 100), CancellationWindow(24, 50)))
    # Friday 6 March 2026, 23:30 in New York; clocks go forward on Sunday 8 March.
    now = datetime(2026, 3, 7, 4, 30, tzinfo=UTC)

    starts = demo_slot_times(now, "America/New_York", time(9, 0), policy, 4)

    local = [s.astimezone(ZoneInfo("America/New_York")) for s in starts]
    assert [(t.day, t.hour) for t in local] == [(9, 9), (10, 9), (11, 9), (12, 9)]
    assert policy.refund_percent(starts[0], now) == 100
    assert [s.hour for s in starts] == [13, 13, 13, 13]  # EDT: UTC-4


def test_the_admin_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "admin-key"
    key = stable_admin_key(path)
    assert key.startswith("bp_admin_")
    assert len(key) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stable_admin_key(path) == key
    path.unlink()
    assert stable_admin_key(path) != key


async def test_the_demo_seeds_in_queue_mode_as_no_worker_runs_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With BOOKPAY_WEBHOOK_MODE=queue the server's worker applies Stripe's events, but the
    demo seeds before any server runs: the fake's onboarding event is applied at once, and
    nothing waits in the queue."""
    settings = _settings(tmp_path).model_copy(update={"webhook_mode": WebhookMode.QUEUE})
    await seed_demo(settings, BASE)
    assert "/fake-stripe/checkout/" in capsys.readouterr().out

    container = build_container(settings)
    try:
        async with container.uow()() as uow:
            assert (await uow.received_events.depth()).count == 0
    finally:
        await container.engine().dispose()
