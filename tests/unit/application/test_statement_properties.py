"""Statements always balance, whatever happened to the bookings.

Random histories — payments, partial refunds, tenant and customer cancellations, refunds
made in Stripe's dashboard, events delivered again — are driven through the use cases
(in-memory repositories, fake gateway); the tenant's statement, for the whole time and for
a period, must equal a sum computed independently from the bookings themselves, and
net = gross − refunds − fees + fee refunds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.cancel_booking import CancelCommand
from application.errors import ApplicationError
from application.ports.gateway import RefundRequest
from application.refund_booking import RefundCommand
from application.statements import PlatformFeeReport, TenantStatement
from domain.booking import Booking, CancelledBy
from domain.errors import DomainError
from domain.ledger import StatementLine
from domain.money import Money
from domain.tenant import ChargeModel
from tests.unit.application.conftest import App, Shop, build_app, checkout, open_shop

pytestmark = pytest.mark.refunds

Step = tuple[str, int, int]  # (action, which booking, amount in cents)

steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "pay",
                "refund",
                "refund_rest",
                "tenant_cancel",
                "customer_cancel",
                "dashboard_refund",
                "resend",
                "later",
            ]
        ),
        st.integers(0, 3),
        st.integers(1, 4500),
    ),
    min_size=1,
    max_size=14,
)


async def _run(history: list[Step]) -> None:
    app = build_app()
    shop = await open_shop(app, capacity=20)
    paid: list[str] = []
    paid_at: dict[str, datetime] = {}
    midpoint = app.clock.now() + timedelta(days=1)
    crossed = False
    for action, which, cents in history:
        try:
            if action == "later" and not crossed:
                app.clock.advance(timedelta(days=2))
                crossed = True
            elif action == "pay":
                paid.append(await _pay(app, shop))
                paid_at[paid[-1]] = app.clock.now()
            elif not paid:
                continue
            else:
                await _act(app, shop, action, paid[which % len(paid)], cents)
        except (DomainError, ApplicationError):
            pass  # refused (e.g. more than is left): must leave no trace

    bookings = [await app.booking(b) for b in paid]
    for booking in bookings:
        assert booking.refunded.customer_refund <= booking.quote.customer_total
        assert booking.refunded.application_fee_refund <= booking.quote.application_fee
        assert not any(r.pending for r in booking.refunds)

    statement = TenantStatement(app.db.unit_of_work)
    lines: Sequence[StatementLine | None] = await statement(
        shop.tenant_id, since=None, until=None
    ) or [None]
    (line,) = lines
    if not bookings:
        assert line is None
        return
    assert line is not None
    assert line.gross.amount == sum(b.quote.customer_total.amount for b in bookings)
    assert line.fees.amount == sum(b.quote.application_fee.amount for b in bookings)
    assert line.refunds.amount == sum(b.refunded.customer_refund.amount for b in bookings)
    assert line.fee_refunds.amount == sum(
        b.refunded.application_fee_refund.amount for b in bookings
    )
    assert line.bookings == len(bookings)
    assert line.net == line.gross - line.refunds - line.fees + line.fee_refunds

    # A period: only what was paid before the midpoint counts as gross there.
    early = await statement(shop.tenant_id, since=None, until=midpoint)
    late = await statement(shop.tenant_id, since=midpoint, until=None)
    early_gross = sum(b.quote.customer_total.amount for b in bookings if paid_at[b.id] < midpoint)
    assert sum(s.gross.amount for s in early) == early_gross
    assert sum(s.gross.amount for s in early) + sum(s.gross.amount for s in late) == (
        line.gross.amount
    )
    for part in (*early, *late):
        assert part.net == part.gross - part.refunds - part.fees + part.fee_refunds
    assert sum(s.net.amount for s in (*early, *late)) == line.net.amount

    (report,) = await PlatformFeeReport(app.db.unit_of_work)(since=None, until=None)
    assert report.line == line
    assert report.net_fees == line.fees - line.fee_refunds


async def _pay(app: App, shop: Shop) -> str:
    started = await app.start_checkout(checkout(shop, seats=1))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    await app.gateway.pay(booking.gateway_session_id)
    return started.booking_id


async def _act(app: App, shop: Shop, action: str, booking_id: str, cents: int) -> None:
    booking: Booking = await app.booking(booking_id)
    if action == "refund":
        await app.refund(RefundCommand(shop.tenant_id, booking_id, Money(cents, "usd")))
    elif action == "refund_rest":
        await app.refund(RefundCommand(shop.tenant_id, booking_id))
    elif action == "tenant_cancel":
        await app.cancel(CancelCommand(booking_id, CancelledBy.TENANT, tenant_id=shop.tenant_id))
    elif action == "customer_cancel":
        await app.cancel(CancelCommand(booking_id, CancelledBy.CUSTOMER, tenant_id=shop.tenant_id))
    elif action == "dashboard_refund" and booking.payment_intent_id is not None:
        await app.gateway.refund(
            RefundRequest(
                booking_id=booking_id,
                payment_intent_id=booking.payment_intent_id,
                amount=Money(min(cents, max(booking.refundable.amount, 1)), "usd"),
                charge_model=ChargeModel.DESTINATION,
                refund_application_fee=True,
                reverse_transfer=True,
                idempotency_key=f"dashboard-{booking_id}-{cents}-{len(booking.refunds)}",
            )
        )
    elif action == "resend":
        events = await app.gateway.list_events()
        if events:
            await app.gateway.resend_event(events[cents % len(events)].id)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=steps)
def test_the_statement_equals_the_bookings_and_always_balances(history: list[Step]) -> None:
    asyncio.run(_run(history))
