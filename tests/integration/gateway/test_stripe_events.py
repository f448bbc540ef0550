"""Stripe event JSON (2023-08-16) → the port's gateway-neutral events, from fixture objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.stripe_wire.events import (
    MalformedStripeObject,
    checkout_session_from_stripe,
    parse_event,
    translate_event,
)
from application.errors import InvalidWebhookPayload
from application.ports.gateway import PaymentIntentStatus
from application.ports.gateway_events import (
    AccountUpdated,
    ApplicationFeeRefunded,
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    ChargeRefunded,
    CheckoutCompleted,
    CheckoutExpired,
    DisputeClosed,
    DisputeCreated,
    DisputeEvent,
    DisputeFunds,
    DisputeFundsReinstated,
    DisputeFundsWithdrawn,
    DisputeUpdated,
    IgnoredEvent,
    RefundRecord,
)
from domain.dispute import DisputeStatus
from domain.money import Money
from domain.tenant import ConnectStatus
from tests.support.gateway_requests import stripe_event
from tests.support.stripe_reference import stripe_fixture

CREATED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
BASE: dict[str, Any] = {"event_id": "evt_test_0001", "created_at": CREATED}


def _session(**values: Any) -> dict[str, Any]:
    session = stripe_fixture("checkout.session")
    session.update(
        id="cs_test_1",
        client_reference_id="bk_1",
        metadata={"booking_id": "bk_1", "tenant_id": "tn_1"},
        amount_total=5250,
        currency="eur",
        payment_intent="pi_1",
        status="complete",
        payment_status="paid",
    )
    session.update(values)
    return session


def _event(event_type: str, obj: dict[str, Any], account: str | None = None) -> dict[str, Any]:
    return stripe_event(event_type, obj, CREATED, account=account)


@pytest.mark.parametrize(
    ("payment_status", "paid"), [("paid", True), ("unpaid", False), ("no_payment_required", True)]
)
def test_checkout_session_completed(payment_status: str, paid: bool) -> None:
    event = translate_event(
        _event("checkout.session.completed", _session(payment_status=payment_status))
    )

    assert event == CheckoutCompleted(
        **BASE,
        account_id=None,
        session_id="cs_test_1",
        booking_id="bk_1",
        paid=paid,
        payment_intent_id="pi_1",
        amount_total=Money(5250, "eur"),
    )


def test_the_booking_falls_back_to_metadata_and_expanded_ids_are_read() -> None:
    session = _session(client_reference_id=None, payment_intent={"id": "pi_9", "object": "x"})

    event = translate_event(_event("checkout.session.completed", session, account="acct_1"))

    assert isinstance(event, CheckoutCompleted)
    assert event.booking_id == "bk_1"
    assert event.payment_intent_id == "pi_9"
    assert event.account_id == "acct_1"


@pytest.mark.parametrize("status", ["processing", "requires_action", "requires_payment_method"])
def test_a_retrieved_session_tells_its_expanded_intents_status(status: str) -> None:
    intent = stripe_fixture("payment_intent")
    intent.update(id="pi_9", status=status)
    unpaid = _session(payment_status="unpaid", payment_intent=intent)

    session = checkout_session_from_stripe(unpaid)
    unexpanded = checkout_session_from_stripe(_session(payment_status="unpaid"))

    assert session.payment_intent_id == "pi_9"
    assert session.payment_intent_status is PaymentIntentStatus(status)
    assert unexpanded.payment_intent_id == "pi_1"
    assert unexpanded.payment_intent_status is None  # not read: nothing proves anything


def test_an_intent_status_stripe_never_sends_is_malformed() -> None:
    intent = {"id": "pi_9", "object": "payment_intent", "status": "lost_in_the_post"}

    with pytest.raises(MalformedStripeObject):
        checkout_session_from_stripe(_session(payment_intent=intent))


def test_async_payment_outcomes_and_expiry() -> None:
    session = _session()

    common = {
        **BASE,
        "account_id": None,
        "session_id": "cs_test_1",
        "booking_id": "bk_1",
        "amount_total": Money(session["amount_total"], session["currency"]),
    }

    assert translate_event(
        _event("checkout.session.async_payment_succeeded", session)
    ) == AsyncPaymentSucceeded(**common, payment_intent_id="pi_1")
    assert translate_event(
        _event("checkout.session.async_payment_failed", session)
    ) == AsyncPaymentFailed(**common)
    assert translate_event(_event("checkout.session.expired", session)) == CheckoutExpired(**common)


def test_charge_refunded_with_and_without_the_refunds_list() -> None:
    charge = stripe_fixture("charge")
    charge.update(id="ch_1", payment_intent="pi_1", amount=5250, amount_refunded=3000)
    refund = stripe_fixture("refund")
    refund.update(id="re_1", amount=3000)
    charge["refunds"]["data"] = [refund]

    listed = translate_event(_event("charge.refunded", charge))
    del charge["refunds"]  # as API version 2023-08-16 sends it unless expanded
    unlisted = translate_event(_event("charge.refunded", charge))

    assert listed == ChargeRefunded(
        **BASE,
        account_id=None,
        charge_id="ch_1",
        payment_intent_id="pi_1",
        amount_refunded=Money(3000, "usd"),
        refunds=(RefundRecord("re_1", Money(3000, "usd")),),
    )
    assert isinstance(unlisted, ChargeRefunded)
    assert unlisted.refunds == ()


def test_application_fee_refunded_names_the_fees_charge_and_account() -> None:
    fee = stripe_fixture("application_fee")
    fee.update(amount=230, amount_refunded=115, refunded=False)

    event = translate_event(_event("application_fee.refunded", fee))
    fee["charge"] = {"id": fee["charge"], "object": "charge", "payment_intent": "pi_1"}
    expanded = translate_event(_event("application_fee.refunded", fee))

    assert event == ApplicationFeeRefunded(
        **BASE,
        account_id=None,
        fee_id="fee_1NnmXEGPxmnHQRkJnV8Z4Ivx",
        charge_id="ch_1NnlpSGPxmnHQRkJcYsK19E8",
        payment_intent_id=None,  # looked up from Stripe when the event is checked
        amount_refunded=Money(115, "usd"),
        fee_account_id="acct_1Nnlp9GPxmnHQRkJ",
    )
    assert isinstance(expanded, ApplicationFeeRefunded)
    assert expanded.payment_intent_id == "pi_1"
    assert expanded.charge_id == "ch_1NnlpSGPxmnHQRkJcYsK19E8"


def test_dispute_created() -> None:
    dispute = stripe_fixture("dispute")

    event = translate_event(_event("charge.dispute.created", dispute, account="acct_1"))

    assert event == DisputeCreated(
        **BASE,
        account_id="acct_1",
        dispute_id="dp_1NnmX5GPxmnHQRkJhLm6FrCK",
        charge_id="ch_1NnlpSGPxmnHQRkJcYsK19E8",
        payment_intent_id=None,
        amount=Money(1000, "usd"),
        reason="general",
        status=DisputeStatus.WARNING_NEEDS_RESPONSE,
        is_charge_refundable=True,
        opened_at=datetime.fromtimestamp(1234567890, UTC),
        balance_transactions=(),
    )


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("charge.dispute.created", DisputeCreated),
        ("charge.dispute.updated", DisputeUpdated),
        ("charge.dispute.closed", DisputeClosed),
        ("charge.dispute.funds_withdrawn", DisputeFundsWithdrawn),
        ("charge.dispute.funds_reinstated", DisputeFundsReinstated),
    ],
)
def test_every_dispute_event_carries_the_dispute_as_stripe_saw_it(
    event_type: str, kind: type[DisputeEvent]
) -> None:
    dispute = {
        **stripe_fixture("dispute"),
        "status": "lost",
        "is_charge_refundable": False,
        "payment_intent": "pi_1",
        "balance_transactions": [
            {
                **stripe_fixture("balance_transaction"),
                "id": "txn_1",
                "amount": -1000,
                "fee": 1500,
                "currency": "usd",
            }
        ],
    }

    event = translate_event(_event(event_type, dispute))

    assert type(event) is kind
    assert isinstance(event, DisputeEvent)
    assert (event.status, event.is_charge_refundable, event.payment_intent_id) == (
        DisputeStatus.LOST,
        False,
        "pi_1",
    )
    assert event.balance_transactions == (
        DisputeFunds("txn_1", Money(-1000, "usd"), Money(1500, "usd")),
    )


def test_a_dispute_in_a_status_stripe_does_not_have_is_refused() -> None:
    dispute = {**stripe_fixture("dispute"), "status": "pending_forever"}
    with pytest.raises(InvalidWebhookPayload):
        translate_event(_event("charge.dispute.updated", dispute))


def test_account_updated_carries_the_connect_status() -> None:
    account = stripe_fixture("account")

    event = translate_event(_event("account.updated", account, account="acct_1Nnlp9GPxmnHQRkJ"))

    assert isinstance(event, AccountUpdated)
    assert event.account_id == "acct_1Nnlp9GPxmnHQRkJ"
    assert event.status == ConnectStatus(
        account_id="acct_1Nnlp9GPxmnHQRkJ",
        charges_enabled=False,
        payouts_enabled=False,
        details_submitted=False,
        requirements_due=tuple(account["requirements"]["currently_due"]),
    )


def test_account_updated_names_the_events_account_not_the_objects() -> None:
    account = {**stripe_fixture("account"), "id": "acct_described"}

    event = translate_event(_event("account.updated", account, account="acct_sent_for"))

    assert isinstance(event, AccountUpdated)
    assert event.account_id == "acct_sent_for"
    assert event.status.account_id == "acct_described"


@pytest.mark.parametrize(("event_mode", "key_mode"), [(True, False), (False, True)])
def test_an_event_of_the_other_mode_is_ignored(event_mode: bool, key_mode: bool) -> None:
    event = {**_event("checkout.session.completed", _session()), "livemode": event_mode}

    translated = translate_event(event, livemode=key_mode)

    assert isinstance(translated, IgnoredEvent)
    assert translated.type == "checkout.session.completed"
    assert "mode" in translated.reason


def test_an_event_of_the_keys_mode_is_translated() -> None:
    event = {**_event("checkout.session.completed", _session()), "livemode": True}

    assert isinstance(translate_event(event, livemode=True), CheckoutCompleted)


def test_other_types_are_ignored() -> None:
    assert translate_event(stripe_fixture("event")) == IgnoredEvent(
        event_id="evt_1NnmXEGPxmnHQRkJO3bak93X",
        created_at=datetime.fromtimestamp(1234567890, UTC),
        account_id=None,
        type="plan.created",
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe",
        b"{",
        b'"event"',
        json.dumps({"object": "charge", "id": "ch_1"}).encode(),
        json.dumps(_event("checkout.session.completed", {})).encode(),
        json.dumps(_event("checkout.session.completed", _session(payment_status="x"))).encode(),
        json.dumps(_event("charge.refunded", {"id": "ch_1", "amount_refunded": 1})).encode(),
        json.dumps(_event("charge.refunded", {"id": "ch_1", "amount_refunded": 1.5})).encode(),
        json.dumps(
            _event("charge.refunded", {"id": "ch_1", "amount_refunded": 1, "currency": "xyz"})
        ).encode(),
        json.dumps(
            {**_event("account.updated", {"id": "acct_1"}), "created": "yesterday"}
        ).encode(),
        json.dumps(_event("application_fee.refunded", {"id": "fee_1", "charge": "ch_1"})).encode(),
    ],
)
def test_a_body_that_is_not_a_readable_event_is_an_invalid_payload(body: bytes) -> None:
    with pytest.raises(InvalidWebhookPayload):
        parse_event(body)


@pytest.mark.parametrize(
    "event",
    [
        {**_event("checkout.session.completed", _session()), "id": "evt_" + "x" * 252},
        _event("checkout.session.completed", _session(id="cs_" + "x" * 253)),
        _event("checkout.session.completed", _session(payment_intent="pi_" + "x" * 253)),
        _event(
            "charge.dispute.created", {**stripe_fixture("dispute"), "charge": "ch_" + "x" * 253}
        ),
        _event("account.updated", stripe_fixture("account"), account="acct_" + "x" * 251),
    ],
    ids=["event", "session", "payment intent", "dispute's charge", "event's account"],
)
def test_an_id_longer_than_stripe_ever_makes_is_an_invalid_payload(event: dict[str, Any]) -> None:
    """Stripe's ids never exceed 255 characters: a longer one is refused as unreadable (a
    400), not stored, where PostgreSQL would refuse it with a 500."""
    with pytest.raises(InvalidWebhookPayload, match="over Stripe's 255"):
        translate_event(event)


def test_an_id_of_255_characters_is_read() -> None:
    event = {**_event("checkout.session.completed", _session()), "id": "evt_" + "x" * 251}
    assert translate_event(event).event_id == event["id"]
