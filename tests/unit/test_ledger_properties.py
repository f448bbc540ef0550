"""A tenant's statement balances for any history of payments, refunds and cancellations."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from domain.booking import Booking, CancelledBy
from domain.cancellation import (
    RefundSplit,
    customer_cancellation_refund,
    partial_refund,
    tenant_cancellation_refund,
)
from domain.errors import BelowMinimumCharge, IllegalTransition, RefundExceedsPaid
from domain.fees import RefundOnCancel
from domain.ledger import (
    EntryKind,
    LedgerEntry,
    customer_refund_entry,
    fee_refund_entries,
    payment_entries,
    statement,
)
from domain.money import Money, granularity
from tests.unit.fee_strategies import PROPERTY, QUICK, Sale, new_booking, sales

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CURRENCIES = ("usd", "eur", "jpy", "kwd")

# What may happen to a booking after checkout, in order.
events = st.one_of(
    st.tuples(st.just("refund"), st.integers(1, 2_000)),
    st.tuples(st.just("customer cancels"), st.integers(0, 100)),
    st.tuples(st.just("tenant cancels"), st.just(0)),
)


@dataclass(frozen=True)
class History:
    sale: Sale
    refund_on_cancel: RefundOnCancel
    paid: bool
    events: tuple[tuple[str, int], ...]


histories = st.builds(
    History,
    sale=sales(CURRENCIES),
    refund_on_cancel=st.sampled_from(RefundOnCancel),
    paid=st.booleans(),
    events=st.lists(events, max_size=5).map(tuple),
)


def play(history: History, booking_id: str) -> tuple[Booking | None, list[LedgerEntry]]:
    """Run a booking through its history, writing the ledger the way the use cases do."""
    sale = history.sale
    try:
        quote = sale.policy.quote(sale.unit_price, sale.seats)
    except BelowMinimumCharge:
        return None, []  # refused before checkout: no money moved
    booking = new_booking(quote, history.refund_on_cancel, booking_id)
    booking = booking.confirm(f"pi_{booking_id}") if history.paid else booking.expire()
    entries = payment_entries(booking, f"pi_{booking_id}", AT) if booking.is_paid else []
    step = granularity(quote.currency)
    for number, (kind, value) in enumerate(history.events):
        split: RefundSplit
        try:
            if kind == "refund":
                amount = Money(value * step, quote.currency)
                split = partial_refund(quote, amount, booking.refund_on_cancel, booking.refunded)
            elif kind == "customer cancels":
                split = customer_cancellation_refund(
                    quote, value, booking.refund_on_cancel, booking.refunded
                )
                booking = booking.cancel(CancelledBy.CUSTOMER)
            else:
                split = tenant_cancellation_refund(
                    quote, booking.refund_on_cancel, booking.refunded
                )
                booking = booking.cancel(CancelledBy.TENANT)
            if split.is_empty:
                continue
            booking = booking.record_refund(f"re_{booking_id}_{number}", split)
        except RefundExceedsPaid:
            assert kind == "refund"
            assert value * step > booking.refundable.amount
            continue
        except IllegalTransition:
            assert not booking.is_paid
            continue
        refund = booking.refunds[-1]
        entries.append(
            customer_refund_entry(booking, refund.refund_id, refund.split.customer_refund, AT)
        )
        # The gateway reports the fee given back in all, here all the splits' fee parts.
        reported = booking.refunded.application_fee_refund
        entries += fee_refund_entries(booking, f"pi_{booking_id}", reported, entries, AT)
    return booking, entries


@PROPERTY
@given(st.lists(histories, min_size=1, max_size=8))
def test_a_statement_balances_for_any_history(history_list: list[History]) -> None:
    entries: list[LedgerEntry] = []
    tenant_net: defaultdict[str, int] = defaultdict(int)
    paid_bookings: Counter[str] = Counter()
    for index, history in enumerate(history_list):
        booking, booking_entries = play(history, f"bk_{index}")
        entries += booking_entries
        if booking is None or not booking.is_paid:
            assert booking_entries == []
            continue
        # Independently of the ledger: what reached the tenant, less what it gave back.
        paid_bookings[booking.currency] += 1
        given_back = sum(r.split.tenant_share.amount for r in booking.refunds)
        tenant_net[booking.currency] += booking.quote.tenant_receives.amount - given_back
        assert booking.refunded.customer_refund <= booking.quote.customer_total
        assert booking.refunded.application_fee_refund <= booking.quote.application_fee
        if booking.refund_on_cancel is RefundOnCancel.PROPORTIONAL:
            assert given_back <= booking.quote.tenant_receives.amount

    lines = statement(entries)
    assert [line.currency for line in lines] == sorted(tenant_net)
    for line in lines:
        assert line.net == line.gross - line.refunds - line.fees + line.fee_refunds
        assert line.net.amount == tenant_net[line.currency]
        assert line.bookings == paid_bookings[line.currency]
        assert line.refunds <= line.gross
        assert line.fee_refunds <= line.fees
        by_kind = Counter[EntryKind]()
        for entry in entries:
            if entry.amount.currency == line.currency:
                by_kind[entry.kind] += entry.amount.amount
        assert (line.gross.amount, line.refunds.amount) == (
            by_kind[EntryKind.CHARGE],
            by_kind[EntryKind.REFUND],
        )


@QUICK
@given(st.lists(histories, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_a_statement_does_not_depend_on_the_order_of_entries(
    history_list: list[History], random: Random
) -> None:
    entries = [e for i, h in enumerate(history_list) for e in play(h, f"bk_{i}")[1]]
    shuffled = list(entries)
    random.shuffle(shuffled)
    assert statement(shuffled) == statement(entries)
