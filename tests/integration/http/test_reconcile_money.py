"""Reconciliation compares each booking's ledger with what Stripe shows of its payment
(charge, application fee, refunds, disputes): it repairs what Stripe's facts prove — a
refund made in the dashboard whose events were lost, a fee refund Stripe reports, a
dispute the booking lacks — and reports the rest for a human. And `application_fee.refunded`
books the fee refund Stripe made, once, whatever its order with `charge.refunded`.

Through HTTP with the fake's dashboard, its webhooks lost on the way, on SQLite and
PostgreSQL; reconciliation is the use case `bookpay reconcile` runs.
"""

from __future__ import annotations

import pytest

from application.ports.gateway_events import DisputeCreated
from domain.dispute import DisputeStatus
from domain.ledger import EntryKind, LedgerEntry
from domain.money import Money
from tests.support.http_flows import paid_booking
from tests.support.webhook_shop import PAID, Shop

pytestmark = pytest.mark.refunds


@pytest.fixture
def shop(webhook_shop: Shop) -> Shop:
    return webhook_shop


REFUND_EVENTS = {"charge.refunded", "application_fee.refunded"}
DISPUTE_EVENTS = {
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
}


@pytest.mark.parametrize(
    ("fee_back", "fee_refund"), [(False, []), (True, [("application_fee_refund", 115)])]
)
async def test_a_dashboard_refund_whose_events_were_lost_is_recorded_by_reconciliation(
    shop: Shop, fee_back: bool, fee_refund: list[tuple[str, int]]
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost |= REFUND_EVENTS
    await shop.dashboard(
        f"payments/{payment}/refund", {"amount": 2115, "refund_application_fee": fee_back}
    )
    assert await shop.ledger(tenant, booking_id) == PAID  # Bookpay never heard of it

    report = await shop.reconcile()

    assert sorted(await shop.ledger(tenant, booking_id)) == sorted(
        [*PAID, ("refund", 2115), *fee_refund]
    )
    booking = await shop.booking(tenant, booking_id)
    assert booking["payment_status"] == "partially_refunded"
    assert booking["refunded"]["amount"] == 2115
    assert await shop.net(tenant) == 4230 - 2115 - 230 + sum(a for _, a in fee_refund)
    repaired = report.payments_repaired
    assert any(line.startswith(f"{booking_id}: refund of 2115") for line in repaired)
    assert report.for_a_human == []
    again = await shop.reconcile()
    assert again.payments_repaired == []
    assert again.for_a_human == []
    assert sorted(await shop.ledger(tenant, booking_id)) == sorted(
        [*PAID, ("refund", 2115), *fee_refund]
    )


async def test_the_fee_refund_stripe_reports_is_booked_from_its_own_event(shop: Shop) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost.add("charge.refunded")  # only application_fee.refunded reaches Bookpay

    await shop.dashboard(
        f"payments/{payment}/refund", {"amount": 2115, "refund_application_fee": True}
    )

    # Stripe gave back 230 × 2115 / 4230 = 115 of its fee: booked as Stripe reports it.
    assert await shop.ledger(tenant, booking_id) == [
        ("application_fee", 230),
        ("application_fee_refund", 115),
        ("charge", 4230),
    ]
    report = await shop.reconcile()  # the refund itself, whose event was lost
    assert await shop.ledger(tenant, booking_id) == [
        ("application_fee", 230),
        ("application_fee_refund", 115),
        ("charge", 4230),
        ("refund", 2115),
    ]
    assert report.for_a_human == []


async def test_fee_refund_events_replayed_in_any_order_book_it_once(shop: Shop) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost |= REFUND_EVENTS
    for amount in (1000, 1000):
        await shop.dashboard(
            f"payments/{payment}/refund", {"amount": amount, "refund_application_fee": True}
        )
    shop.lost.clear()
    events = (await shop.client.get("/fake-stripe/events")).json()["data"]  # newest first
    for event in [e for e in events if e["type"] in REFUND_EVENTS] * 2:
        resent = await shop.client.post(f"/fake-stripe/events/{event['id']}/resend")
        assert resent.status_code == 200, resent.text

    # Stripe gave back 54 of the fee with each 10.00 (230 × 1000 / 4230 = 54.4).
    ledger = await shop.ledger(tenant, booking_id)
    assert sum(a for k, a in ledger if k == "application_fee_refund") == 108
    assert sum(a for k, a in ledger if k == "refund") == 2000
    assert (await shop.reconcile()).for_a_human == []


async def test_a_dispute_whose_events_were_lost_is_recorded_by_reconciliation(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost |= DISPUTE_EVENTS
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    assert (await shop.booking(tenant, booking_id))["disputes"] == []

    report = await shop.reconcile()

    booking = await shop.booking(tenant, booking_id)
    (dispute,) = booking["disputes"]
    assert dispute["id"] == opened["dispute_id"]
    assert dispute["status"] == "needs_response"
    assert booking["payment_status"] == "disputed"
    assert f"{booking_id}: dispute {opened['dispute_id']} (needs_response) recorded" in (
        report.payments_repaired
    )
    # While Stripe says the charge is not refundable, Bookpay refuses to refund it too.
    refused = await shop.client.post(
        f"/v1/tenant/bookings/{booking_id}/refunds",
        json={"amount": {"amount": 1000, "currency": "usd"}},
        headers=tenant,
    )
    assert refused.status_code == 409, refused.text

    await shop.dashboard(f"disputes/{opened['dispute_id']}/close", {"outcome": "lost"})
    closed = await shop.reconcile()

    booking = await shop.booking(tenant, booking_id)
    assert booking["disputes"][0]["status"] == "lost"
    # The repair of the lost dispute took it back from the tenant: counted as recovered.
    assert closed.disputes_recovered == [opened["dispute_id"]]
    assert ("dispute", 4230) in await shop.ledger(tenant, booking_id)
    assert (await shop.reconcile()).payments_repaired == []


async def test_what_the_gateways_facts_cannot_explain_is_left_for_a_human(shop: Shop) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    booking = await shop.booking(tenant, booking_id)

    async def book_a_refund_stripe_never_made() -> None:
        async with shop.container.uow()() as uow:
            found = await uow.bookings.find_by_id(booking_id)
            await uow.ledger.add(
                LedgerEntry(
                    found.tenant_id,
                    booking_id,
                    EntryKind.REFUND,
                    Money(500, "usd"),
                    "re_nowhere",
                    found.created_at,
                )
            )
            await uow.commit()

    await shop.in_app(book_a_refund_stripe_never_made)

    report = await shop.reconcile()

    assert report.for_a_human == [
        f"{booking_id}: refunds is 500 usd (minor units) in the ledger, "
        "0 usd (minor units) at the gateway"
    ]
    assert report.payments_repaired == []
    assert sorted(await shop.ledger(tenant, booking_id)) == sorted([*PAID, ("refund", 500)])
    assert booking["payment_status"] == "paid"


async def test_the_funds_a_dispute_moved_are_booked_when_only_the_dispute_was_recorded(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]
    shop.lost |= {"charge.dispute.created", "charge.dispute.funds_withdrawn"}
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})
    # Recorded without its funds, as a version that took a dispute event on its word did
    # (an event is now turned into the dispute Stripe shows, its funds included).
    await shop.applied_on_its_word(
        DisputeCreated, payment, DisputeStatus.NEEDS_RESPONSE, opened["dispute_id"]
    )
    assert (await shop.booking(tenant, booking_id))["disputes"][0]["status"] == "needs_response"
    assert await shop.ledger(tenant, booking_id) == PAID  # the funds never showed

    await shop.reconcile()

    # The whole 42.30 withdrawn, with Stripe's 15.00 dispute fee (the platform's balance).
    assert sorted(await shop.ledger(tenant, booking_id)) == sorted(
        [*PAID, ("dispute", 4230), ("dispute_fee", 1500)]
    )
    again = await shop.reconcile()
    assert again.payments_repaired == []
    assert again.for_a_human == []
