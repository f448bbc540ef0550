"""Signed but false, before the payment and about a payment Stripe does not know (issue 12,
"What was seen" 5; brief `money` items 1 and 2).

A refund or dispute event that arrives before its booking's payment is parked, unchecked
(the account to ask is not known yet). When the payment lands it goes through the same
check as a direct event: the payment is fetched from Stripe, and Stripe's refunds and
disputes decide. And an event from the right account about a payment Stripe does not know
is ignored (acknowledged, so Stripe stops retrying), never booked. Through HTTP with the
fake gateway, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from application.payment_events.bus import HANDLERS
from application.payment_events.context import EventContext
from application.ports.gateway import WebhookEndpoint
from application.ports.gateway_events import CheckoutCompleted, DisputeClosed
from domain.dispute import DisputeStatus
from domain.money import Money
from tests.support.gateway_doubles import PaymentsUnreadable
from tests.support.http_flows import open_checkout, paid_booking
from tests.support.webhook_shop import (
    LIES,
    PAID,
    Shop,
    charge_refunded,
    dispute_created,
    shop_on,
    stripe_event,
)

COMPLETED = "checkout.session.completed"


@pytest.fixture
def shop(webhook_shop: Shop) -> Shop:
    return webhook_shop


async def _paid_unannounced(shop: Shop) -> tuple[dict[str, str], str, str]:
    """A booking paid at Stripe whose completion has not reached Bookpay yet (held): the
    tenant's headers, the booking id and the payment's id."""
    shop.held_types.add(COMPLETED)
    tenant, checkout = await open_checkout(shop.client)
    paid = await shop.client.post(
        checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text
    (completion,) = shop.held
    shop.held_types.clear()
    booking_id = checkout["booking_id"]
    assert (await shop.booking(tenant, booking_id))["status"] == "pending_payment"
    return tenant, booking_id, str(completion.event["data"]["object"]["payment_intent"])


async def _landed(shop: Shop, tenant: dict[str, str], booking_id: str) -> dict[str, Any]:
    assert await shop.release() == [200]
    booking = await shop.booking(tenant, booking_id)
    assert booking["status"] == "confirmed"
    return booking


@pytest.mark.parametrize(("endpoint", "account"), LIES)
async def test_a_forged_refund_parked_before_the_payment_refunds_nothing_when_it_lands(
    shop: Shop, endpoint: WebhookEndpoint, account: str | None
) -> None:
    tenant, booking_id, payment = await _paid_unannounced(shop)

    parked = await shop.post_event(charge_refunded(payment, 4230, account, "ch_forged"), endpoint)
    assert parked["outcome"] == "parked"

    booking = await _landed(shop, tenant, booking_id)
    assert booking["payment_status"] == "paid"
    assert booking["refunded"]["amount"] == 0
    assert await shop.ledger(tenant, booking_id) == PAID
    # The whole charge is still refundable: nothing is short.
    refunded = await shop.refund(tenant, booking_id, 4230)
    assert refunded.status_code == 201, refunded.text


@pytest.mark.parametrize(("endpoint", "account"), LIES)
async def test_a_forged_dispute_parked_before_the_payment_blocks_nothing_when_it_lands(
    shop: Shop, endpoint: WebhookEndpoint, account: str | None
) -> None:
    tenant, booking_id, payment = await _paid_unannounced(shop)

    parked = await shop.post_event(
        dispute_created(payment, "dp_forged", account, "ch_forged"), endpoint
    )
    assert parked["outcome"] == "parked"

    booking = await _landed(shop, tenant, booking_id)
    assert booking["payment_status"] == "paid"
    assert booking["disputes"] == []
    assert await shop.ledger(tenant, booking_id) == PAID
    refunded = await shop.refund(tenant, booking_id, 1000)
    assert refunded.status_code == 201, refunded.text
    assert (await shop.reconcile()).for_a_human == []


async def test_a_real_refund_and_dispute_parked_before_the_payment_are_recorded_when_it_lands(
    shop: Shop,
) -> None:
    tenant, booking_id, payment = await _paid_unannounced(shop)
    await shop.dashboard(
        f"payments/{payment}/refund", {"amount": 1000, "refund_application_fee": False}
    )
    opened = await shop.dashboard(f"payments/{payment}/dispute", {"reason": "fraudulent"})

    booking = await _landed(shop, tenant, booking_id)

    assert booking["refunded"]["amount"] == 1000
    assert [d["id"] for d in booking["disputes"]] == [opened["dispute_id"]]
    assert booking["payment_status"] == "disputed"
    assert await shop.ledger(tenant, booking_id) == sorted(
        [*PAID, ("refund", 1000), ("dispute", 3230), ("dispute_fee", 1500)]
    )
    assert (await shop.reconcile()).for_a_human == []


async def test_a_parked_refund_the_gateway_could_not_confirm_is_applied_by_reconciliation(
    webhook_database_url: str | None, tmp_path: Path
) -> None:
    async with shop_on(webhook_database_url, tmp_path, PaymentsUnreadable) as shop:
        link: PaymentsUnreadable = shop.container.gateway()
        tenant, booking_id, payment = await _paid_unannounced(shop)
        await shop.dashboard(
            f"payments/{payment}/refund", {"amount": 1000, "refund_application_fee": False}
        )
        link.down = True

        booking = await _landed(shop, tenant, booking_id)  # the payment itself is taken

        assert booking["refunded"]["amount"] == 0  # not applied unchecked: left parked
        link.down = False
        report = await shop.reconcile()
        assert report.parked_applied == [booking_id]
        assert report.payments_repaired == []  # the parked event did it, not a repair
        assert report.for_a_human == []
        assert (await shop.booking(tenant, booking_id))["refunded"]["amount"] == 1000
        assert await shop.ledger(tenant, booking_id) == sorted([*PAID, ("refund", 1000)])
        assert (await shop.reconcile()).parked_applied == []


# --- The right account, a payment Stripe does not know -----------------------------------


async def _paid_with_a_payment_stripe_does_not_know(shop: Shop) -> tuple[dict[str, str], str]:
    """A booking confirmed by a completion naming a payment Stripe never made, applied
    through its handler unchecked: as a version that took a matching completion on its
    word did (a completion is now confirmed by the session Stripe reports)."""
    tenant, booking_id, _ = await _paid_unannounced(shop)
    (completion,) = shop.held
    shop.held.clear()
    session = completion.event["data"]["object"]

    async def apply() -> None:
        async with shop.container.uow()() as uow:
            event = CheckoutCompleted(
                event_id=completion.event["id"] + "_forged",
                created_at=datetime.now(UTC),
                account_id=None,
                session_id=session["id"],
                booking_id=booking_id,
                amount_total=Money(session["amount_total"], session["currency"]),
                paid=True,
                payment_intent_id="pi_unknown",
            )
            await uow.webhook_inbox.record(event.event_id)
            await HANDLERS[CheckoutCompleted](EventContext(uow, shop.container.clock()), event)
            await uow.commit()

    await shop.in_app(apply)
    assert (await shop.booking(tenant, booking_id))["payment_intent"] == "pi_unknown"
    return tenant, booking_id


async def test_a_refund_from_the_right_account_of_a_payment_stripe_does_not_know_is_ignored(
    shop: Shop,
) -> None:
    tenant, booking_id = await _paid_with_a_payment_stripe_does_not_know(shop)

    answer = await shop.post_event(
        charge_refunded("pi_unknown", 2000, None, "ch_unknown"), WebhookEndpoint.PLATFORM
    )

    assert answer["outcome"] == "ignored"
    booking = await shop.booking(tenant, booking_id)
    assert booking["refunded"]["amount"] == 0
    assert booking["payment_status"] == "paid"
    assert not any(kind == "refund" for kind, _ in await shop.ledger(tenant, booking_id))


async def test_a_dispute_from_the_right_account_of_a_payment_stripe_does_not_know_is_ignored(
    shop: Shop,
) -> None:
    tenant, booking_id = await _paid_with_a_payment_stripe_does_not_know(shop)

    answer = await shop.post_event(
        dispute_created("pi_unknown", "dp_unknown", None, "ch_unknown"), WebhookEndpoint.PLATFORM
    )

    assert answer["outcome"] == "ignored"
    booking = await shop.booking(tenant, booking_id)
    assert booking["disputes"] == []
    assert booking["payment_status"] == "paid"


async def test_an_event_about_a_payment_stripe_does_not_know_is_not_retried(shop: Shop) -> None:
    await _paid_with_a_payment_stripe_does_not_know(shop)
    event = stripe_event(
        "charge.dispute.closed",
        {
            "id": "dp_unknown",
            "object": "dispute",
            "charge": "ch_unknown",
            "payment_intent": "pi_unknown",
            "amount": 4230,
            "currency": "usd",
            "reason": "fraudulent",
            "status": "lost",
            "is_charge_refundable": False,
            "created": int(datetime.now(UTC).timestamp()),
            "balance_transactions": [],
        },
        None,
    )

    # Acknowledged with a 2xx (post_event asserts 200): Stripe stops retrying.
    assert (await shop.post_event(event, WebhookEndpoint.PLATFORM))["outcome"] == "ignored"


# --- A dispute Bookpay holds that Stripe does not list --------------------------------------


async def test_a_lost_dispute_stripe_does_not_list_is_never_recovered_from_the_tenant(
    shop: Shop,
) -> None:
    tenant, booking_id = await paid_booking(shop.client)
    payment = (await shop.booking(tenant, booking_id))["payment_intent"]

    # Its recovery from the tenant is reserved and left for reconciliation to send.
    await shop.applied_on_its_word(DisputeClosed, payment, DisputeStatus.LOST)
    (dispute,) = (await shop.booking(tenant, booking_id))["disputes"]
    assert dispute["status"] == "lost"

    report = await shop.reconcile()

    assert report.disputes_recovered == []
    assert (
        f"{booking_id}: the recovery of lost dispute dp_forged from the tenant is not sent: "
        "the gateway does not list the dispute"
    ) in report.for_a_human
    # No transfer reversal: the tenant bore nothing at Stripe, and nothing in the ledger.
    assert await shop.ledger(tenant, booking_id) == PAID
    assert (await shop.reconcile()).disputes_recovered == []
