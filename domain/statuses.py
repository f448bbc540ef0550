"""A booking's two orthogonal states: its seats (`BookingStatus`) and its money
(`PaymentStatus`), and what each status does to the slot's seats."""

from __future__ import annotations

from enum import StrEnum

from domain.money import Money


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    AWAITING_ASYNC_PAYMENT = "awaiting_async_payment"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    PAYMENT_FAILED = "payment_failed"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    """The money of a booking, orthogonal to its seats."""

    UNPAID = "unpaid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


class SeatState(StrEnum):
    """What a booking in a status does to its slot's seats."""

    HELD = "held"
    BOOKED = "booked"
    RELEASED = "released"


SEATS_BY_STATUS = {
    BookingStatus.PENDING_PAYMENT: SeatState.HELD,
    BookingStatus.AWAITING_ASYNC_PAYMENT: SeatState.HELD,
    BookingStatus.CONFIRMED: SeatState.BOOKED,
    BookingStatus.EXPIRED: SeatState.RELEASED,
    BookingStatus.PAYMENT_FAILED: SeatState.RELEASED,
    BookingStatus.CANCELLED: SeatState.RELEASED,
}


def statuses_in(state: SeatState) -> frozenset[BookingStatus]:
    """The statuses in which a booking's seats are in `state`."""
    return frozenset(s for s, seats in SEATS_BY_STATUS.items() if seats is state)


def statuses_holding_seats() -> frozenset[BookingStatus]:
    """The statuses in which a booking holds seats until its hold ends."""
    return statuses_in(SeatState.HELD)


def statuses_taking_seats() -> frozenset[BookingStatus]:
    """The statuses in which a booking still holds or books its seats."""
    return frozenset(s for s, seats in SEATS_BY_STATUS.items() if seats is not SeatState.RELEASED)


def payment_status(*, paid: Money | None, refunded: Money, disputed: bool) -> PaymentStatus:
    """The money of a booking: unpaid without a payment (`paid` is None); disputed while a
    dispute is open or was lost; otherwise what the refunds the gateway confirmed
    (`refunded`, minor units) gave back of `paid`."""
    if paid is None:
        return PaymentStatus.UNPAID
    if disputed:
        return PaymentStatus.DISPUTED
    if refunded.amount <= 0:
        return PaymentStatus.PAID
    if refunded.amount >= paid.amount:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED
