"""The ways one checkout can end that test_event_order_properties.py replays: for each, the
distinct events Stripe sends (named by kind; that module builds them) and what the booking,
its seats and its ledger must show afterwards, whatever order the events arrive in."""

from __future__ import annotations

from dataclasses import dataclass

from domain.booking import BookingStatus, PaymentStatus


@dataclass(frozen=True)
class Story:
    """The distinct events Stripe sends for one way a checkout can end, and its outcome."""

    name: str
    events: tuple[str, ...]
    status: BookingStatus
    seats_booked: int
    seats_held: int
    ledger: tuple[tuple[str, int], ...]
    disputes: int = 0
    # The tenant refunds this much (minor units) through Bookpay once the booking is paid.
    own_refund: int = 0
    payment_status: PaymentStatus | None = None  # None: paid when confirmed, else unpaid

    @property
    def money(self) -> PaymentStatus:
        if self.payment_status is not None:
            return self.payment_status
        paid = self.status is BookingStatus.CONFIRMED
        return PaymentStatus.PAID if paid else PaymentStatus.UNPAID


PAID_LEDGER = (("application_fee", 230), ("charge", 4230))
# 10.00 back: the fee comes back pro rata, 230 × 1000 / 4230 rounded = 54.
PART_REFUNDED = (*PAID_LEDGER, ("application_fee_refund", 54), ("refund", 1000))
ALL_REFUNDED = (*PAID_LEDGER, ("application_fee_refund", 230), ("refund", 4230))
# A dispute of the whole 42.30 withdraws it with Stripe's 15.00 fee; winning reinstates it.
WITHDRAWN = (*PAID_LEDGER, ("dispute", 4230), ("dispute_fee", 1500))
REINSTATED = (*WITHDRAWN, ("dispute_reversal", 4230))
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
    Story(
        "card, part refunded in the dashboard",
        ("completed_paid", "refunded_1000"),
        BookingStatus.CONFIRMED,
        2,
        0,
        PART_REFUNDED,
        payment_status=PaymentStatus.PARTIALLY_REFUNDED,
    ),
    Story(
        "card, refunded in two steps",
        ("completed_paid", "refunded_1000", "refunded_4230"),
        BookingStatus.CONFIRMED,
        2,
        0,
        ALL_REFUNDED,
        payment_status=PaymentStatus.REFUNDED,
    ),
    Story(
        "delayed succeeds, then refunded",
        ("completed_unpaid", "async_succeeded", "refunded_4230"),
        BookingStatus.CONFIRMED,
        2,
        0,
        ALL_REFUNDED,
        payment_status=PaymentStatus.REFUNDED,
    ),
    Story(
        "card, disputed and part refunded",
        ("completed_paid", "disputed", "refunded_1000"),
        BookingStatus.CONFIRMED,
        2,
        0,
        PART_REFUNDED,
        disputes=1,
        payment_status=PaymentStatus.DISPUTED,
    ),
    Story(
        "card, dispute won",
        ("completed_paid", "disputed", "funds_withdrawn", "closed_won", "funds_reinstated"),
        BookingStatus.CONFIRMED,
        2,
        0,
        REINSTATED,
        disputes=1,
        payment_status=PaymentStatus.PAID,
    ),
    Story(
        "card, dispute lost",
        ("completed_paid", "disputed", "funds_withdrawn", "closed_lost"),
        BookingStatus.CONFIRMED,
        2,
        0,
        WITHDRAWN,
        disputes=1,
        payment_status=PaymentStatus.DISPUTED,
    ),
    Story(
        "card, part refunded in the dashboard, the fee kept",
        ("completed_paid", "refunded_1000_fee_kept"),
        BookingStatus.CONFIRMED,
        2,
        0,
        (*PAID_LEDGER, ("refund", 1000)),
        payment_status=PaymentStatus.PARTIALLY_REFUNDED,
    ),
    Story(
        "card, the platform gives part of its fee back alone",
        ("completed_paid", "fee_refunded_54"),
        BookingStatus.CONFIRMED,
        2,
        0,
        (*PAID_LEDGER, ("application_fee_refund", 54)),
    ),
    Story(
        "card, refunded in two steps, each with its fee refund's event",
        ("completed_paid", "refunded_1000", "fee_refunded_54", "refunded_4230", "fee_refunded_230"),
        BookingStatus.CONFIRMED,
        2,
        0,
        ALL_REFUNDED,
        payment_status=PaymentStatus.REFUNDED,
    ),
    Story(
        "card, part refunded by the tenant in Bookpay, with its fee refund's event",
        ("completed_paid", "own_refunded_1000", "own_fee_refunded_54"),
        BookingStatus.CONFIRMED,
        2,
        0,
        PART_REFUNDED,
        own_refund=1000,
        payment_status=PaymentStatus.PARTIALLY_REFUNDED,
    ),
    Story(
        "card, part refunded by the tenant in Bookpay",
        ("completed_paid", "own_refunded_1000"),
        BookingStatus.CONFIRMED,
        2,
        0,
        PART_REFUNDED,
        own_refund=1000,
        payment_status=PaymentStatus.PARTIALLY_REFUNDED,
    ),
    Story(
        "delayed succeeds, part refunded in Bookpay, the rest in the dashboard",
        ("completed_unpaid", "async_succeeded", "own_refunded_1000", "rest_refunded_4230"),
        BookingStatus.CONFIRMED,
        2,
        0,
        ALL_REFUNDED,
        own_refund=1000,
        payment_status=PaymentStatus.REFUNDED,
    ),
)
