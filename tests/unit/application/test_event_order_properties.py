"""Whatever order and however often Stripe delivers a booking's events, the booking ends in
the same state with the same seats and the same ledger (property-based)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from application.ports import (
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    CheckoutCompleted,
    CheckoutExpired,
    PaymentEvent,
)
from domain.booking import BookingStatus
from tests.unit.application.conftest import build_app, checkout, open_shop

AT = datetime(2030, 5, 1, 9, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Story:
    """The distinct events Stripe sends for one way a checkout can end, and its outcome."""

    name: str
    events: tuple[str, ...]
    status: BookingStatus
    seats_booked: int
    seats_held: int
    ledger: tuple[tuple[str, int], ...]


PAID_LEDGER = (("application_fee", 230), ("charge", 4230))
STORIES = (
    Story("card", ("completed_paid",), BookingStatus.CONFIRMED, 2, 0, PAID_LEDGER),
    Story(
        "delayed succeeds",
        ("completed_unpaid", "async_succeeded"),
        BookingStatus.CONFIRMED,
        2,
        0,
        PAID_LEDGER,
    ),
    Story(
        "delayed fails",
        ("completed_unpaid", "async_failed"),
        BookingStatus.PAYMENT_FAILED,
        0,
        0,
        (),
    ),
    Story("abandoned", ("expired",), BookingStatus.EXPIRED, 0, 0, ()),
)


def _event(kind: str, session_id: str, booking_id: str) -> PaymentEvent:
    common = {"event_id": f"evt_{kind}", "created_at": AT, "account_id": None}
    if kind in ("completed_paid", "completed_unpaid"):
        return CheckoutCompleted(
            **common,
            session_id=session_id,
            booking_id=booking_id,
            paid=kind == "completed_paid",
            payment_intent_id="pi_1",
            amount_total=None,
        )
    if kind == "async_succeeded":
        return AsyncPaymentSucceeded(
            **common, session_id=session_id, booking_id=booking_id, payment_intent_id="pi_1"
        )
    if kind == "async_failed":
        return AsyncPaymentFailed(**common, session_id=session_id, booking_id=booking_id)
    return CheckoutExpired(**common, session_id=session_id, booking_id=booking_id)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[Story, list[str]]:
    """A story, and its events each delivered 1–3 times in any order."""
    story = draw(st.sampled_from(STORIES))
    sent = [kind for kind in story.events for _ in range(draw(st.integers(1, 3)))]
    return story, draw(st.permutations(sent))


async def _replay(story: Story, order: list[str]) -> None:
    app = build_app()
    shop = await open_shop(app, capacity=3)
    app.drop_deliveries()  # only the events of this example reach the booking
    started = await app.start_checkout(checkout(shop, seats=2))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    for kind in order:
        await app.apply_event(_event(kind, booking.gateway_session_id, booking.id))

    final = await app.booking(started.booking_id)
    assert final.status is story.status, (story.name, order)
    async with app.db.unit_of_work() as uow:
        slot = await uow.slots.get(shop.tenant_id, shop.slot_id)
        entries = await uow.ledger.list_for_booking(shop.tenant_id, booking.id)
    assert slot is not None
    assert (slot.booked, slot.held) == (story.seats_booked, story.seats_held), (story.name, order)
    ledger = tuple(sorted((e.kind.value, e.amount.amount) for e in entries))
    assert ledger == story.ledger, (story.name, order)


@settings(max_examples=60, deadline=None)
@given(deliveries())
def test_any_order_and_repetition_of_events_ends_the_same(
    delivery: tuple[Story, list[str]],
) -> None:
    story, order = delivery
    asyncio.run(_replay(story, order))
