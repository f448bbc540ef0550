"""The ledger: every money movement of a booking, and statements that always balance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.booking import Booking, Refund
from domain.clock import as_utc
from domain.errors import InvalidAmount
from domain.money import Money


class EntryKind(StrEnum):
    CHARGE = "charge"  # what the customer paid
    APPLICATION_FEE = "application_fee"  # the platform's fee taken from it
    REFUND = "refund"  # what went back to the customer
    APPLICATION_FEE_REFUND = "application_fee_refund"  # the part of the fee given back


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement, in minor units, recorded once per (gateway_ref, kind)."""

    tenant_id: str
    booking_id: str
    kind: EntryKind
    amount: Money
    gateway_ref: str
    created_at: datetime

    def __post_init__(self) -> None:
        if self.amount.amount < 0:
            raise InvalidAmount("ledger amounts are positive; the kind gives the direction")
        object.__setattr__(self, "created_at", as_utc(self.created_at))


def payment_entries(booking: Booking, gateway_ref: str, at: datetime) -> list[LedgerEntry]:
    """The charge and the platform's fee of a paid booking."""
    quote = booking.quote
    return [
        LedgerEntry(booking.tenant_id, booking.id, kind, amount, gateway_ref, at)
        for kind, amount in (
            (EntryKind.CHARGE, quote.customer_total),
            (EntryKind.APPLICATION_FEE, quote.application_fee),
        )
    ]


def refund_entries(booking: Booking, refund: Refund, at: datetime) -> list[LedgerEntry]:
    """The refund, and the fee refund when the platform gives part of its fee back."""
    entries = [
        LedgerEntry(
            booking.tenant_id,
            booking.id,
            EntryKind.REFUND,
            refund.split.customer_refund,
            refund.refund_id,
            at,
        )
    ]
    if not refund.split.application_fee_refund.is_zero:
        entries.append(
            LedgerEntry(
                booking.tenant_id,
                booking.id,
                EntryKind.APPLICATION_FEE_REFUND,
                refund.split.application_fee_refund,
                refund.refund_id,
                at,
            )
        )
    return entries


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A tenant's money in one currency: net = gross − refunds − fees + fee_refunds."""

    currency: str
    bookings: int
    gross: Money
    refunds: Money
    fees: Money
    fee_refunds: Money

    @property
    def net(self) -> Money:
        return self.gross - self.refunds - self.fees + self.fee_refunds


def statement(entries: Iterable[LedgerEntry]) -> list[StatementLine]:
    """Sum ledger entries per currency, ordered by currency code."""
    totals: dict[str, dict[EntryKind, int]] = {}
    booked: dict[str, set[str]] = {}
    for entry in entries:
        currency = entry.amount.currency
        sums = totals.setdefault(currency, dict.fromkeys(EntryKind, 0))
        sums[entry.kind] += entry.amount.amount
        if entry.kind is EntryKind.CHARGE:
            booked.setdefault(currency, set()).add(entry.booking_id)
    return [
        StatementLine(
            currency=currency,
            bookings=len(booked.get(currency, ())),
            gross=Money(sums[EntryKind.CHARGE], currency),
            refunds=Money(sums[EntryKind.REFUND], currency),
            fees=Money(sums[EntryKind.APPLICATION_FEE], currency),
            fee_refunds=Money(sums[EntryKind.APPLICATION_FEE_REFUND], currency),
        )
        for currency, sums in sorted(totals.items())
    ]
