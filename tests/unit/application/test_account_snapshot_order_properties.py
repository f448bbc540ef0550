"""Account snapshots in any order and repetition end in the same tenant state (Stripe sends
`account.updated` at least once and in no particular order)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from application.ports.gateway_events import AccountUpdated
from domain.tenant import ConnectStatus, Tenant
from tests.unit.application.conftest import build_app, open_shop

AT = datetime(2030, 5, 1, 9, 5, tzinfo=UTC)
# When they arrive: after Stripe took them (one dated ahead of its arrival counts as dated
# on arrival, domain.payment.dated_ahead), and after the shop's onboarding snapshot.
ARRIVAL = timedelta(minutes=10)


def _snapshot(account_id: str, number: int, enabled: bool) -> AccountUpdated:
    """The number-th snapshot Stripe took of the account, a second after the one before."""
    return AccountUpdated(
        event_id=f"evt_account_{number}",
        created_at=AT + timedelta(seconds=number),
        account_id=account_id,
        status=ConnectStatus(
            account_id=account_id,
            charges_enabled=enabled,
            payouts_enabled=enabled,
            details_submitted=True,
            requirements_due=() if enabled else ("external_account",),
        ),
    )


async def _tenant_after(snapshots: list[tuple[int, bool]], latest: bool) -> Tenant:
    """The tenant after `snapshots` arrived, Stripe's account being as the `latest` said
    (each account.updated is read back from Stripe: the snapshot sent never decides)."""
    app = build_app()
    shop = await open_shop(app)
    app.clock.advance(ARRIVAL)
    async with app.db.unit_of_work() as uow:
        tenant = await uow.tenants.get(shop.tenant_id)
    assert tenant is not None
    assert tenant.connect.account_id is not None
    app.drop_deliveries()  # Stripe's own event of this change: the test sends its snapshots
    await app.gateway.update_account(
        tenant.connect.account_id,
        charges_enabled=latest,
        payouts_enabled=latest,
        requirements_due=() if latest else ("external_account",),
    )
    app.drop_deliveries(False)
    for number, enabled in snapshots:
        await app.apply_event(_snapshot(tenant.connect.account_id, number, enabled))
    async with app.db.unit_of_work() as uow:
        final = await uow.tenants.get(shop.tenant_id)
    assert final is not None
    return final


@st.composite
def snapshot_deliveries(
    draw: st.DrawFn,
) -> tuple[list[tuple[int, bool]], list[tuple[int, bool]]]:
    """Stripe's snapshots in the order it took them, and a delivery: each 1–3 times, any order."""
    taken = [(n, draw(st.booleans())) for n in range(1, draw(st.integers(1, 5)) + 1)]
    sent = [snapshot for snapshot in taken for _ in range(draw(st.integers(1, 3)))]
    return taken, draw(st.permutations(sent))


@settings(max_examples=100, deadline=None)
@given(snapshot_deliveries())
def test_any_order_and_repetition_of_account_snapshots_ends_the_same(
    delivery: tuple[list[tuple[int, bool]], list[tuple[int, bool]]],
) -> None:
    in_order, delivered = delivery
    latest = in_order[-1][1]
    expected = asyncio.run(_tenant_after(in_order, latest))
    final = asyncio.run(_tenant_after(delivered, latest))
    assert final.connect == expected.connect, (in_order, delivered)
    assert final.can_sell is in_order[-1][1], (in_order, delivered)
