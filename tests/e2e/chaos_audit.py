"""What must hold after the chaos test's storm (test_chaos.py), read straight from the
database, whose fake Stripe objects sit beside Bookpay's rows:

- every refund Bookpay shows was made exactly once at the gateway, and vice versa;
- every paid Checkout Session is confirmed once, or refunded once;
- no seat is held by a finished booking (a slot's held and booked seats are the sums over
  its bookings);
- no Idempotency-Key stays in progress.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def _rows(url: str, sql: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql))).all())
    finally:
        await engine.dispose()


def _read(url: str, sql: str) -> list[Any]:
    return asyncio.run(_rows(url, sql))


def _body(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def assert_consistent(url: str) -> None:
    """The database at `url` and the fake Stripe's objects in it agree (this module's
    docstring); call it once every process has stopped changing them."""
    bookings = {
        row.id: row
        for row in _read(
            url,
            "SELECT id, slot_id, seats, status, gateway_session_id, customer_total FROM bookings",
        )
    }
    refunds = _read(
        url, "SELECT booking_id, refund_id, customer_refund, pending FROM booking_refunds"
    )
    ledger = _read(url, "SELECT booking_id, kind, amount FROM ledger_entries")
    objects = _read(url, "SELECT id, body FROM fake_objects")
    bodies = [(o.id, _body(o.body)) for o in objects]
    sessions = [body for _, body in bodies if body.get("object") == "checkout.session"]
    gateway_refunds = [(id_, body) for id_, body in bodies if body.get("object") == "refund"]
    assert bookings
    assert sessions

    # Every refund Bookpay shows was made exactly once at the gateway, and vice versa.
    assert not [r for r in refunds if r.pending], "a refund's outcome is still unknown"
    shown = Counter((r.refund_id, r.customer_refund) for r in refunds)
    made = Counter(
        (refund_id, body["amount"])
        for refund_id, body in gateway_refunds
        if body.get("status") == "succeeded"
    )
    assert shown == made
    assert all(count == 1 for count in shown.values())

    # Every paid session is confirmed once, or refunded once; an unpaid one is neither.
    charges = Counter(e.booking_id for e in ledger if e.kind == "charge")
    refunded: defaultdict[str, int] = defaultdict(int)
    for refund in refunds:
        refunded[refund.booking_id] += refund.customer_refund
    paid = set()
    for session in sessions:
        booking = bookings[session["client_reference_id"]]
        if booking.gateway_session_id != session["id"]:
            # A process killed between Stripe's answer and attaching the session leaves the
            # session to expire at Stripe: no customer ever saw its page, so none paid it.
            assert session["payment_status"] != "paid", (session["id"], booking)
            continue
        if session["payment_status"] == "paid":
            paid.add(booking.id)
            assert charges[booking.id] == 1, booking
            assert booking.status in ("confirmed", "cancelled"), booking
            assert refunded[booking.id] <= booking.customer_total, booking
            if booking.status == "cancelled":  # refunded once, in full
                assert refunded[booking.id] == booking.customer_total, booking
        else:
            assert charges[booking.id] == 0, booking
            assert refunded[booking.id] == 0, booking
            assert booking.status != "confirmed", booking
    assert set(charges) <= paid  # no charge without a paid session

    # No seat is held by a finished booking.
    held: Counter[str] = Counter()
    booked: Counter[str] = Counter()
    for booking in bookings.values():
        if booking.status in ("pending_payment", "awaiting_async_payment"):
            held[booking.slot_id] += booking.seats
        elif booking.status == "confirmed":
            booked[booking.slot_id] += booking.seats
    for slot in _read(url, "SELECT id, held, booked, capacity FROM slots"):
        assert (slot.held, slot.booked) == (held[slot.id], booked[slot.id]), slot
        assert slot.held + slot.booked <= slot.capacity, slot

    # No Idempotency-Key stays in progress.
    in_progress = _read(url, "SELECT key FROM idempotency_keys WHERE response_status IS NULL")
    assert in_progress == []
