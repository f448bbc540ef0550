"""Issue 13, over HTTP on SQLite and PostgreSQL: tenants resize and cancel slots, and
every booking on a cancelled slot ends: refunded, released, or finished by reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.http.terms.shop import (
    NOTHING_BACK,
    Shop,
    tenant_id_of,
)

pytestmark = pytest.mark.holds


# --- Slot operations --------------------------------------------------------------------


async def test_a_slots_capacity_changes_but_never_below_the_seats_taken(shop: Shop) -> None:
    await shop.open()
    held = await shop.checkout(2)
    paid = await shop.checkout(1)
    await shop.pay(paid)

    too_small = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 2}, headers=shop.auth
    )
    just_enough = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 3}, headers=shop.auth
    )

    assert too_small.status_code == 409, too_small.text
    assert too_small.headers["content-type"].startswith("application/problem+json")
    assert just_enough.status_code == 200, just_enough.text
    assert just_enough.json()["capacity"] == 3
    assert just_enough.json()["seats_available"] == 0
    assert held["booking_id"]
    bigger = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 10}, headers=shop.auth
    )
    assert bigger.json()["seats_available"] == 7
    assert await shop.seats_available() == 7
    unknown = await shop.client.patch(
        "/v1/tenant/slots/sl_nope", json={"capacity": 3}, headers=shop.auth
    )
    assert unknown.status_code == 404
    zero = await shop.client.patch(
        f"/v1/tenant/slots/{shop.slot_id}", json={"capacity": 0}, headers=shop.auth
    )
    assert zero.status_code in (400, 422), zero.text


async def test_cancelling_a_slot_refunds_every_paid_booking_and_releases_every_hold(
    shop: Shop,
) -> None:
    await shop.open(NOTHING_BACK)  # the tenant cancels: its customers get everything back
    paid = await shop.checkout(2)
    await shop.pay(paid)
    held = await shop.checkout(1)

    cancelled = await shop.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel",
        json={"reason": "the teacher is ill"},
        headers=shop.auth,
    )

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["seats_available"] == 0
    paid_after = await shop.booking(paid)
    assert paid_after["status"] == "cancelled"
    assert paid_after["refunded"] == {"amount": 4230, "currency": "usd"}
    assert [e["amount"]["amount"] for e in paid_after["ledger"] if e["kind"] == "refund"] == [4230]
    assert (await shop.booking(held))["status"] == "expired"
    no_more = await shop.client.post(
        f"/v1/public/{shop.slug}/checkout",
        json={"slot_id": shop.slot_id, "seats": 1, "customer": {"email": "a@b.example"}},
    )
    assert no_more.status_code == 409, no_more.text

    again = await shop.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel", json={}, headers=shop.auth
    )
    assert again.status_code == 200, again.text
    refunds = [e for e in (await shop.booking(paid))["ledger"] if e["kind"] == "refund"]
    assert len(refunds) == 1


async def test_a_checkout_paid_while_its_slot_is_cancelled_is_refunded_in_full(
    shop: Shop,
) -> None:
    await shop.open()
    checkout = await shop.checkout(2)
    shop.webhooks["arriving"] = False  # Bookpay has not heard of the payment yet
    await shop.pay(checkout)
    assert (await shop.booking(checkout))["status"] == "pending_payment"

    cancelled = await shop.client.post(
        f"/v1/tenant/slots/{shop.slot_id}/cancel", json={}, headers=shop.auth
    )

    assert cancelled.status_code == 200, cancelled.text
    after = await shop.booking(checkout)
    assert after["status"] == "cancelled"
    assert after["refunded"] == {"amount": 4230, "currency": "usd"}
    assert [e["amount"]["amount"] for e in after["ledger"] if e["kind"] == "refund"] == [4230]


async def test_an_interrupted_slot_cancellation_is_finished_by_reconciliation(
    shop: Shop,
) -> None:
    await shop.open()
    paid = await shop.checkout(2)
    await shop.pay(paid)
    held = await shop.checkout(1)
    # The process stops right after the slot was marked cancelled, before any booking ended.
    tenant_id = await tenant_id_of(shop)

    async def crash_after_marking_the_slot() -> None:
        async with shop.container.uow()() as uow:
            slot = await uow.slots.get(tenant_id, shop.slot_id)
            assert slot is not None
            assert await uow.slots.cancel(slot.cancel(datetime.now(UTC), "flooded"))
            await uow.commit()

    await shop.in_app(crash_after_marking_the_slot)
    assert (await shop.booking(paid))["status"] == "confirmed"

    report = await shop.in_app(shop.container.reconcile())

    assert sorted(report.slot_bookings_ended) == sorted([paid["booking_id"], held["booking_id"]])
    after = await shop.booking(paid)
    assert after["status"] == "cancelled"
    assert after["refunded"] == {"amount": 4230, "currency": "usd"}
    assert [e["amount"]["amount"] for e in after["ledger"] if e["kind"] == "refund"] == [4230]
    assert (await shop.booking(held))["status"] == "expired"
    assert (await shop.in_app(shop.container.reconcile())).slot_bookings_ended == []
