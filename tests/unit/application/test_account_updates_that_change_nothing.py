"""An `account.updated` that changes nothing answers `ignored` with why, as every other
event that changes nothing does (application/payment_events/bookings.py, aftermath.py);
it answered `applied` (limits3, review of issue 14)."""

from __future__ import annotations

from datetime import timedelta

from application.payment_events import Outcome
from application.ports.gateway_events import AccountUpdated
from domain.tenant import ConnectStatus
from tests.unit.application.conftest import App, open_shop


def _snapshot(app: App, account_id: str, number: int, *, enabled: bool) -> AccountUpdated:
    """A snapshot Stripe took just now (newer than any the tenant keeps)."""
    return AccountUpdated(
        event_id=f"evt_account_{number}",
        created_at=app.clock.now(),
        account_id=account_id,
        status=ConnectStatus(
            account_id=account_id,
            charges_enabled=enabled,
            payouts_enabled=enabled,
            details_submitted=True,
            requirements_due=() if enabled else ("external_account",),
        ),
    )


async def _account_id(app: App, tenant_id: str) -> str:
    async with app.db.unit_of_work() as uow:
        tenant = await uow.tenants.get(tenant_id)
    assert tenant is not None
    assert tenant.connect.account_id is not None
    return tenant.connect.account_id


async def test_a_newer_snapshot_of_the_account_as_it_is_is_ignored_with_why(app: App) -> None:
    shop = await open_shop(app)
    account_id = await _account_id(app, shop.tenant_id)
    app.clock.advance(timedelta(minutes=10))
    told = len(app.db.events_out)

    same = await app.apply_event(_snapshot(app, account_id, 1, enabled=True))

    assert same.outcome is Outcome.IGNORED
    assert "no change" in same.detail
    assert len(app.db.events_out) == told  # nothing to tell the platform either


async def test_a_snapshot_that_changes_the_account_is_applied(app: App) -> None:
    shop = await open_shop(app)
    account_id = await _account_id(app, shop.tenant_id)
    app.clock.advance(timedelta(minutes=10))
    app.drop_deliveries()  # Stripe's own event of this change: the test sends it below
    await app.gateway.update_account(
        account_id, charges_enabled=False, payouts_enabled=False, requirements_due=("x",)
    )
    app.drop_deliveries(False)

    changed = await app.apply_event(_snapshot(app, account_id, 1, enabled=False))

    assert changed.outcome is Outcome.APPLIED
    async with app.db.unit_of_work() as uow:
        tenant = await uow.tenants.get(shop.tenant_id)
    assert tenant is not None
    assert not tenant.connect.charges_enabled
