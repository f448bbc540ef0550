"""A disputed booking's world for disputes.feature: the shop, Stripe's dispute objects and the
events Stripe sends of a dispute, in the order and at the times it sends them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import TestClient

from adapters.fake_stripe.gateway import FakeGateway
from adapters.stripe_wire.signature import sign
from application.ports.gateway import WebhookEndpoint
from entrypoints.fake_stripe_wiring import WEBHOOK_PATHS
from tests.bdd.notation import money_json
from tests.support.gateway_requests import stripe_event
from tests.support.http_app import (
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
)
from tests.support.stripe_reference import stripe_fixture

DISPUTE_FEE = 1500


@dataclass
class Dispute:
    """The dispute as the tests' Stripe sees it, and the events it has sent of it."""

    id: str
    amount: int
    reason: str
    opened: datetime
    closed: bool = False


@dataclass
class DisputeWorld:
    tmp_path: Path
    database_url: str | None = None  # None: a fresh SQLite file
    client: TestClient[Any] | None = None
    fake: FakeGateway | None = None
    tenant_key: str = ""
    charge_model: str = "destination"
    account_id: str | None = None
    booking_id: str = ""
    booking_token: str = ""
    payment_intent: str = ""
    charge: str = ""
    dispute: Dispute | None = None
    responses: list[httpx.Response] = field(default_factory=list)

    @property
    def http(self) -> TestClient[Any]:
        assert self.client is not None, "the platform's dispute setting comes first"
        return self.client

    def tenant(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tenant_key}"}

    def detail(self) -> dict[str, Any]:
        response = self.http.get(f"/v1/tenant/bookings/{self.booking_id}", headers=self.tenant())
        assert response.status_code == 200, response.text
        return dict(response.json())


def payment_of(world: DisputeWorld) -> tuple[str, str]:
    """The payment intent and charge Stripe made for the booking (from its own events)."""
    assert world.fake is not None
    events = world.http.blocking_portal.call(world.fake.list_events)
    for event in events:
        if event.type == "checkout.session.completed" and world.booking_id.encode() in (
            event.payload
        ):
            intent = str(json.loads(event.payload)["data"]["object"]["payment_intent"])
            found = world.http.blocking_portal.call(world.fake._state.store.get_object, intent)
            assert found is not None
            return intent, str(found.body["latest_charge"])
    raise AssertionError("the fake never completed the booking's checkout")


def dispute_object(
    world: DisputeWorld, dispute: Dispute, status: str, moved: tuple[str, ...]
) -> dict[str, Any]:
    """The dispute object as Stripe shows it in an event: `moved` names the balance
    transactions it lists by then ("withdrawn", "reinstated")."""
    withdrawal = {
        **stripe_fixture("balance_transaction"),
        "id": f"txn_{dispute.id}_withdrawn",
        "amount": -dispute.amount,
        "fee": DISPUTE_FEE,
        "net": -dispute.amount - DISPUTE_FEE,
        "currency": "usd",
        "type": "adjustment",
        "reporting_category": "dispute",
    }
    reinstatement = {
        **withdrawal,
        "id": f"txn_{dispute.id}_reinstated",
        "amount": dispute.amount,
        "fee": 0,
        "net": dispute.amount,
        "reporting_category": "dispute_reversal",
    }
    funds = {"withdrawn": withdrawal, "reinstated": reinstatement}
    return {
        **stripe_fixture("dispute"),
        "id": dispute.id,
        "amount": dispute.amount,
        "currency": "usd",
        "charge": world.charge,
        "payment_intent": world.payment_intent,
        "created": int(dispute.opened.timestamp()),
        "reason": dispute.reason,
        "status": status,
        "is_charge_refundable": False,
        "balance_transactions": [funds[name] for name in moved],
    }


def send(
    world: DisputeWorld, event_type: str, status: str, moved: tuple[str, ...], at: datetime
) -> None:
    dispute = world.dispute
    assert dispute is not None
    direct = world.charge_model == "direct"
    event = stripe_event(
        event_type,
        dispute_object(world, dispute, status, moved),
        at,
        event_id=f"evt_{dispute.id}_{event_type.rsplit('.', 1)[-1]}",
        account=world.account_id if direct else None,
    )
    payload = json.dumps(event).encode()
    endpoint = WebhookEndpoint.CONNECT if direct else WebhookEndpoint.PLATFORM
    secret = CONNECT_WEBHOOK_SECRET if direct else WEBHOOK_SECRET
    response = world.http.post(
        WEBHOOK_PATHS[endpoint],
        content=payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload, secret, datetime.now(UTC)),
        },
    )
    assert response.status_code == 200, response.text


def open(world: DisputeWorld, reason: str = "fraudulent") -> Dispute:
    """The dispute, opened at the fake gateway the first time."""
    if world.dispute is None:
        assert world.fake is not None
        account = world.account_id if world.charge_model == "direct" else None
        opened = partial(
            world.fake.open_dispute, world.payment_intent, account_id=account, reason=reason
        )
        dispute_id = world.http.blocking_portal.call(opened)
        # Opened a while ago, so that the events Stripe sends minutes after it are not dated
        # ahead of Bookpay's clock (such events are ignored).
        opened_at = datetime.now(UTC) - timedelta(minutes=15)
        world.dispute = Dispute(dispute_id, 4230, reason, opened_at)
    return world.dispute


def close(world: DisputeWorld, won: bool) -> None:
    """Close the dispute at the fake gateway, once."""
    dispute = open(world)
    if not dispute.closed:
        assert world.fake is not None
        world.http.blocking_portal.call(partial(world.fake.close_dispute, dispute.id, won=won))
        dispute.closed = True


# Each event Stripe sends of a dispute: its type, the minutes after the dispute opened at
# which it is sent, the dispute's status then and the balance transactions it lists then.
EVENTS: dict[str, tuple[str, int, str, tuple[str, ...]]] = {
    "opened": ("charge.dispute.created", 0, "needs_response", ()),
    "funds withdrawn": ("charge.dispute.funds_withdrawn", 1, "needs_response", ("withdrawn",)),
    "closed as won": ("charge.dispute.closed", 10, "won", ("withdrawn", "reinstated")),
    "closed as lost": ("charge.dispute.closed", 10, "lost", ("withdrawn",)),
    "funds reinstated": (
        "charge.dispute.funds_reinstated",
        11,
        "won",
        ("withdrawn", "reinstated"),
    ),
}


def deliver(world: DisputeWorld, name: str) -> None:
    dispute = open(world)
    if name.startswith("closed as"):
        close(world, won=name == "closed as won")
    event_type, minutes, status, moved = EVENTS[name]
    send(world, event_type, status, moved, dispute.opened + timedelta(minutes=minutes))


def signedmoney_json(text: str) -> dict[str, Any]:
    if text.startswith("-"):
        money = money_json(text[1:])
        return {**money, "amount": -money["amount"]}
    return money_json(text)
