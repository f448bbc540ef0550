"""Whatever order and however often Stripe delivers a booking's events, the booking ends in
the same state with the same seats, the same ledger totals and the same disputes
(property-based). Refunds and disputes made in Stripe's dashboard are among the events, and
may come before the completion of the payment they belong to. A refund the tenant makes
through Bookpay is among them too: Bookpay makes it as soon as the booking is paid, and its
`charge.refunded` then arrives in any order among the rest, any number of times. Likewise a
tenant's account snapshots (`account.updated`): in any order and repetition, the tenant
ends as after in-order delivery once.

Fee refunds are what Stripe reports: a dashboard refund may keep the platform's fee (its
`charge.refunded` comes with the fee's report, nothing given back), and each refund that
gives part of the fee back is followed by `application_fee.refunded` with the fee's
`amount_refunded` in all; whichever of the two arrives first books the fee refund, once."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from hypothesis import given, settings
from hypothesis import strategies as st

from application.errors import GatewayInvalidRequest
from application.ports.gateway import (
    CheckoutSession,
    DisputeFacts,
    PaymentSnapshot,
    RefundRequest,
    RefundResult,
    SessionStatus,
)
from application.ports.gateway import PaymentIntentStatus as IntentStatus
from application.ports.gateway import PaymentStatus as SessionPaid
from application.ports.gateway_events import (
    ApplicationFeeRefunded,
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    ChargeRefunded,
    CheckoutCompleted,
    CheckoutExpired,
    DisputeClosed,
    DisputeCreated,
    DisputeFunds,
    DisputeFundsReinstated,
    DisputeFundsWithdrawn,
    PaymentEvent,
    RefundRecord,
)
from application.refund_booking import RefundCommand
from domain.dispute import DisputeStatus
from domain.money import Money
from tests.unit.application.conftest import build_app, checkout, open_shop
from tests.unit.application.payment_stories import STORIES, Story

# A day before the app's clock: the events' own dates only order them, and none may be
# dated ahead of the clock (domain.payment.dated_ahead ignores such an event).
AT = datetime(2030, 4, 30, 9, 5, tzinfo=UTC)


WITHDRAWAL = DisputeFunds("txn_withdrawn", Money(-4230, "usd"), Money(1500, "usd"))
REINSTATEMENT = DisputeFunds("txn_reinstated", Money(4230, "usd"), Money(0, "usd"))
# Each dispute event: its class, minutes after the first, the dispute's status then, and
# the balance transactions the dispute lists then.
DISPUTE_EVENTS = {
    "disputed": (DisputeCreated, 0, DisputeStatus.NEEDS_RESPONSE, ()),
    "funds_withdrawn": (DisputeFundsWithdrawn, 1, DisputeStatus.NEEDS_RESPONSE, (WITHDRAWAL,)),
    "closed_won": (DisputeClosed, 5, DisputeStatus.WON, (WITHDRAWAL, REINSTATEMENT)),
    "closed_lost": (DisputeClosed, 5, DisputeStatus.LOST, (WITHDRAWAL,)),
    "funds_reinstated": (
        DisputeFundsReinstated,
        6,
        DisputeStatus.WON,
        (WITHDRAWAL, REINSTATEMENT),
    ),
}

# What Stripe reports of the charge as a whole: the cumulative amount refunded so far.
REFUNDS = {
    "refunded_1000": (1000, (RefundRecord("re_1", Money(1000, "usd")),)),
    "refunded_1000_fee_kept": (1000, (RefundRecord("re_1", Money(1000, "usd")),)),
    "refunded_4230": (
        4230,
        (RefundRecord("re_1", Money(1000, "usd")), RefundRecord("re_2", Money(3230, "usd"))),
    ),
    # The tenant's refund through Bookpay (the gateway's id for it: re_own), then the rest
    # refunded in the dashboard.
    "own_refunded_1000": (1000, (RefundRecord("re_own", Money(1000, "usd")),)),
    "rest_refunded_4230": (
        4230,
        (RefundRecord("re_own", Money(1000, "usd")), RefundRecord("re_2", Money(3230, "usd"))),
    ),
}
# What the application fee had given back in all when each was sent (the fee was refunded).
FEE_REFUNDED = {
    "refunded_1000_fee_kept": 0,
    "refunded_1000": 54,
    "refunded_4230": 230,
    "own_refunded_1000": 54,
    "rest_refunded_4230": 230,
}


# `application_fee.refunded`: what the fee had given back in all when it was sent.
FEE_EVENTS = {"fee_refunded_54": 54, "fee_refunded_230": 230, "own_fee_refunded_54": 54}

# The events that report the tenant's refund, which cannot be sent before it was made.
AFTER_OWN_REFUND = frozenset({"own_refunded_1000", "rest_refunded_4230", "own_fee_refunded_54"})


class _OwnRefundsSucceed:
    """The fake gateway, but a refund Bookpay asks for succeeds as re_own, and it knows the
    payment the events of this test name (pi_1, its charge ch_1) as it is once the story
    is over: every event is checked against it (Stripe sends an event after what it tells
    happened), so its session (expired when the story is an abandoned checkout, its payment
    intent failed when the delayed payment fails), refunds, dispute and what the
    application fee gave back are the story's last."""

    def __init__(self, fake: object, story: Story) -> None:
        self._fake = fake
        self._story = story

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fake, name)

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        session: CheckoutSession = await self._fake.retrieve_checkout_session(  # type: ignore[attr-defined]
            session_id, account_id=account_id
        )
        events = set(self._story.events)
        paid = {"completed_paid", "async_succeeded"} & events
        expired = "expired" in events
        # Only the payment intent tells a failed delayed payment from one on its way.
        intent = IntentStatus.REQUIRES_PAYMENT_METHOD
        if paid:
            intent = IntentStatus.SUCCEEDED
        elif "async_failed" not in events:
            intent = IntentStatus.PROCESSING
        return replace(
            session,
            status=SessionStatus.EXPIRED if expired else SessionStatus.COMPLETE,
            payment_status=SessionPaid.PAID if paid else SessionPaid.UNPAID,
            payment_intent_id=None if expired else "pi_1",
            payment_intent_status=None if expired else intent,
        )

    async def application_fee_refunded(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> Money | None:
        if payment_intent_id != "pi_1":
            raise GatewayInvalidRequest(f"No such payment_intent: {payment_intent_id!r}")
        reported = [FEE_REFUNDED.get(kind, FEE_EVENTS.get(kind, 0)) for kind in self._story.events]
        return Money(max(reported, default=0), "usd")

    async def retrieve_payment(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> PaymentSnapshot:
        if payment_intent_id != "pi_1":
            raise GatewayInvalidRequest(f"No such payment_intent: {payment_intent_id!r}")
        refunded = [REFUNDS[kind] for kind in self._story.events if kind in REFUNDS]
        cumulative, records = max(refunded, key=lambda r: r[0], default=(0, ()))
        refunds = tuple(RefundResult(r.refund_id, r.amount, "succeeded") for r in records)
        disputes = [DISPUTE_EVENTS[kind] for kind in self._story.events if kind in DISPUTE_EVENTS]
        last = max(disputes, key=lambda d: d[1], default=None)
        facts = (
            ()
            if last is None
            else (DisputeFacts("dp_1", TOTAL, "fraudulent", last[2], False, AT, last[3]),)
        )
        return PaymentSnapshot(
            "pi_1", "ch_1", TOTAL, Money(cumulative, "usd"), refunds, None, None, facts
        )

    async def refund(self, request: RefundRequest) -> RefundResult:
        assert request.payment_intent_id == "pi_1"
        return RefundResult("re_own", request.amount, "succeeded", request.idempotency_key)


TOTAL = Money(4230, "usd")


class _Envelope(TypedDict):
    event_id: str
    created_at: datetime
    account_id: str | None


class _SessionFields(TypedDict):
    session_id: str
    booking_id: str | None
    amount_total: Money | None


def _envelope(kind: str, minutes: int = 0) -> _Envelope:
    return {
        "event_id": f"evt_{kind}",
        "created_at": AT + timedelta(minutes=minutes),
        "account_id": None,
    }


def _event(kind: str, session_id: str, booking_id: str) -> PaymentEvent:
    common = _envelope(kind)
    session: _SessionFields = {
        "session_id": session_id,
        "booking_id": booking_id,
        "amount_total": TOTAL,
    }
    if kind in ("completed_paid", "completed_unpaid"):
        return CheckoutCompleted(
            **common, **session, paid=kind == "completed_paid", payment_intent_id="pi_1"
        )
    if kind == "async_succeeded":
        return AsyncPaymentSucceeded(**common, **session, payment_intent_id="pi_1")
    if kind == "async_failed":
        return AsyncPaymentFailed(**common, **session)
    if kind in REFUNDS:
        cumulative, refunds = REFUNDS[kind]
        return ChargeRefunded(
            **_envelope(kind, cumulative // 1000),
            charge_id="ch_1",
            payment_intent_id="pi_1",
            amount_refunded=Money(cumulative, "usd"),
            refunds=refunds,
            fee_refunded=Money(FEE_REFUNDED[kind], "usd"),
        )
    if kind in FEE_EVENTS:
        return ApplicationFeeRefunded(
            **_envelope(kind, FEE_EVENTS[kind]),
            fee_id="fee_1",
            charge_id="ch_1",
            payment_intent_id="pi_1",
            amount_refunded=Money(FEE_EVENTS[kind], "usd"),
            fee_account_id=None,
        )
    if kind in DISPUTE_EVENTS:
        event_type, minutes, status, funds = DISPUTE_EVENTS[kind]
        return event_type(
            **_envelope(kind, minutes),
            dispute_id="dp_1",
            charge_id="ch_1",
            payment_intent_id="pi_1",
            amount=Money(4230, "usd"),
            reason="fraudulent",
            status=status,
            is_charge_refundable=False,
            opened_at=AT,
            balance_transactions=funds,
        )
    return CheckoutExpired(**common, **session)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[Story, list[str]]:
    """A story, and its events each delivered 1–3 times in any order."""
    story = draw(st.sampled_from(STORIES))
    sent = [kind for kind in story.events for _ in range(draw(st.integers(1, 3)))]
    return story, draw(st.permutations(sent))


async def _replay(story: Story, order: list[str]) -> None:
    app = build_app(lambda fake: _OwnRefundsSucceed(fake, story))
    shop = await open_shop(app, capacity=3)
    app.drop_deliveries()  # only the events of this example reach the booking
    started = await app.start_checkout(checkout(shop, seats=2))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    refunded = story.own_refund == 0
    waiting: list[str] = []  # Stripe reports a refund only after it was made
    for kind in order:
        if kind in AFTER_OWN_REFUND and not refunded:
            waiting.append(kind)
            continue
        await app.apply_event(_event(kind, booking.gateway_session_id, booking.id))
        if not refunded and (await app.booking(booking.id)).is_paid:
            refund = RefundCommand(shop.tenant_id, booking.id, Money(story.own_refund, "usd"))
            await app.refund(refund)
            refunded = True
            for late in waiting:
                await app.apply_event(_event(late, booking.gateway_session_id, booking.id))
    assert refunded, (story.name, order)

    final = await app.booking(started.booking_id)
    assert final.status is story.status, (story.name, order)
    assert final.payment_status is story.money, (story.name, order)
    async with app.db.unit_of_work() as uow:
        slot = await uow.slots.get(shop.tenant_id, shop.slot_id)
        entries = await uow.ledger.list_for_booking(shop.tenant_id, booking.id)
        disputes = await uow.disputes.list_for_booking(shop.tenant_id, booking.id)
        parked = await uow.parked_events.take("pi_1")
    assert slot is not None
    assert (slot.booked, slot.held) == (story.seats_booked, story.seats_held), (story.name, order)
    # Refunds reported in another order may be recorded in other steps (10.00 + 32.30, or
    # 42.30 at once); what each kind of entry adds up to is the same.
    totals: Counter[str] = Counter()
    for entry in entries:
        totals[entry.kind.value] += entry.amount.amount
    assert tuple(sorted(totals.items())) == tuple(sorted(story.ledger)), (story.name, order)
    assert len(disputes) == story.disputes, (story.name, order)
    assert parked == [], (story.name, order)


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_any_order_and_repetition_of_events_ends_the_same(
    delivery: tuple[Story, list[str]],
) -> None:
    story, order = delivery
    asyncio.run(_replay(story, order))
