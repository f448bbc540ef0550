"""Steps for features/webhooks.feature: reports Stripe signs, checked against the facts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.stripe_wire.signature import sign
from application.ports.gateway import WebhookEndpoint
from tests.bdd.http.world import World
from tests.bdd.notation import parse_money
from tests.support.http_app import BASE_URL, CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET, build_test_app
from tests.support.pool_watch import PoolWatch, WatchedGateway
from tests.support.scopes import on_platform

scenarios("webhooks.feature")


@dataclass
class LateWorld(World):
    # While True, the fake's own deliveries are lost on the way: Stripe's report is late.
    dropping: list[bool] = field(default_factory=lambda: [False])
    # Every call Bookpay made to Stripe (the fake), by name.
    watch: PoolWatch = field(default_factory=PoolWatch)
    container: Any = None

    def report(self, event_type: str, obj: dict[str, Any], **envelope: Any) -> Any:
        event = {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "api_version": "2023-08-16",
            "created": int(datetime.now(UTC).timestamp()),
            "livemode": False,
            "account": None,
            "pending_webhooks": 1,
            "type": event_type,
            "data": {"object": obj},
            **envelope,
        }
        connect = event["account"] is not None
        body = json.dumps(event).encode()
        secret = CONNECT_WEBHOOK_SECRET if connect else WEBHOOK_SECRET
        response = self.client.post(
            "/v1/webhooks/stripe" + ("/connect" if connect else ""),
            content=body,
            headers={"Stripe-Signature": sign(body, secret, datetime.now(UTC))},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def account_id(self) -> str:
        status = self.client.get("/v1/tenant/connect/status", headers=self.tenant())
        return str(status.json()["account_id"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[LateWorld]:
    watch = PoolWatch()
    app, container = build_test_app(
        tmp_path, gateway_wrapper=lambda inner: WatchedGateway(inner, watch)
    )
    delivered = container.webhook_delivery()
    dropping = [False]

    async def deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        return 503 if dropping[0] else int(await delivered(endpoint, body, headers))

    container.webhook_delivery.override(providers.Object(deliver))
    with TestClient(app=app, base_url=BASE_URL) as client:
        yield LateWorld(client, dropping=dropping, watch=watch, container=container)


@given(parsers.re(r"the customer (?P<payment>has not paid|has paid, but Stripe's report is late)"))
def customer_payment(world: LateWorld, payment: str) -> None:
    if payment == "has not paid":
        return
    world.dropping[0] = True
    paid = world.client.post(
        world.checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
    )
    assert paid.status_code == 303, paid.text


@given("Bookpay answers Stripe's reports once kept, and applies them afterwards")
def webhooks_queued(world: LateWorld) -> None:
    # BOOKPAY_WEBHOOK_MODE=queue, without the app's own worker: the scenario applies them.
    world.container.receive_webhook.override(world.container.acknowledge_webhook)


@when("the reports kept are applied")
def apply_what_was_kept(world: LateWorld) -> None:
    drain = on_platform(world.container.apply_received_events())
    drained = world.client.blocking_portal.call(drain)
    assert drained.retried == 0, drained


@when(parsers.re(r"a correctly signed report says (?P<claim>.+)"))
def signed_report(world: LateWorld, claim: str) -> None:
    envelope: dict[str, Any] = {}
    amount = parse_money("42.30 USD")
    if claim == "the payment was made to another account":
        envelope["account"] = "acct_someone_else"
    else:
        money = claim.removesuffix(" was paid").split(" ")
        amount = parse_money(f"{money[0]} {money[1]}")
    session_id = world.checkout["checkout_url"].rstrip("/").rsplit("/", 1)[-1]
    booking_id = world.checkout["booking_id"]
    session = {
        "id": session_id,
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": amount.amount,
        "currency": amount.currency,
        "client_reference_id": booking_id,
        "metadata": {"booking_id": booking_id},
        "payment_intent": "pi_claimed_by_the_report",
    }
    world.report("checkout.session.completed", session, **envelope)


@then(parsers.re(r"the booking's ledger holds (?P<ledger>.+)"))
def ledger_holds(world: LateWorld, ledger: str) -> None:
    detail = world.client.get(
        f"/v1/tenant/bookings/{world.checkout['booking_id']}", headers=world.tenant()
    ).json()
    held = sorted(
        (e["kind"], e["amount"]["amount"], e["amount"]["currency"]) for e in detail["ledger"]
    )
    if ledger == "nothing":
        assert held == []
        return
    charge, fee = ledger.removeprefix("a charge of ").split(" and a fee of ")
    expected = [("application_fee", parse_money(fee)), ("charge", parse_money(charge))]
    assert held == [(kind, money.amount, money.currency) for kind, money in expected]


def _account(account_id: str, able: str) -> dict[str, Any]:
    enabled = able == "can take charges"
    return {
        "id": account_id,
        "object": "account",
        "charges_enabled": enabled,
        "payouts_enabled": enabled,
        "details_submitted": True,
        "requirements": {"currently_due": [] if enabled else ["external_account"]},
    }


ABLE = r"(?P<able>can take charges|cannot take charges)"


def _stripe_changes_the_account(world: LateWorld, account_id: str, able: str) -> None:
    """The account becomes what Stripe then reports: each report is read back from Stripe.
    Stripe's own event of the change is lost on the way; the scenario sends its reports."""
    enabled = able == "can take charges"
    world.dropping[0] = True
    changed = world.client.post(
        f"/fake-stripe/accounts/{account_id}",
        json={
            "charges_enabled": enabled,
            "payouts_enabled": enabled,
            "requirements_due": [] if enabled else ["external_account"],
        },
    )
    world.dropping[0] = False
    assert changed.status_code == 200, changed.text


@when(parsers.re(r"Stripe reports the tenant's account " + ABLE))
def account_report(world: LateWorld, able: str) -> None:
    account_id = world.account_id()
    _stripe_changes_the_account(world, account_id, able)
    world.report("account.updated", _account(account_id, able), account=account_id)


@when(parsers.re(r"Stripe's report from 2 minutes earlier arrives, saying the account " + ABLE))
def older_account_report(world: LateWorld, able: str) -> None:
    account_id = world.account_id()
    earlier = datetime.now(UTC) - timedelta(minutes=2)
    world.report(
        "account.updated",
        _account(account_id, able),
        account=account_id,
        created=int(earlier.timestamp()),
    )


@when(parsers.re(r"Stripe's (?P<mode>live|test) mode reports the tenant's account " + ABLE))
def account_report_in_mode(world: LateWorld, mode: str, able: str) -> None:
    account_id = world.account_id()
    if mode == "test":  # the mode of Bookpay's keys: the account it knows changes
        _stripe_changes_the_account(world, account_id, able)
    world.report(
        "account.updated", _account(account_id, able), account=account_id, livemode=mode == "live"
    )


@then(parsers.re(r"the tenant (?P<outcome>can sell|cannot sell)"))
def tenant_can_sell(world: LateWorld, outcome: str) -> None:
    tenant = world.client.get("/v1/tenant", headers=world.tenant()).json()
    assert tenant["can_sell"] is (outcome == "can sell")


@then("Bookpay asked Stripe about the checkout once")
def asked_about_the_checkout_once(world: LateWorld) -> None:
    assert world.watch.calls.count("retrieve_checkout_session") == 1, world.watch.calls
