"""The ledger: every money movement of a booking, and statements that always balance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.booking import Booking
from domain.clock import as_utc
from domain.dispute import Dispute, Party
from domain.errors import InvalidAmount
from domain.money import Money


class EntryKind(StrEnum):
    CHARGE = "charge"  # what the customer paid
    APPLICATION_FEE = "application_fee"  # the platform's fee taken from it
    REFUND = "refund"  # what went back to the customer
    APPLICATION_FEE_REFUND = "application_fee_refund"  # the part of the fee given back
    DISPUTE = "dispute"  # funds a dispute withdrew (or a lost one took from the tenant)
    DISPUTE_REVERSAL = "dispute_reversal"  # funds a won dispute reinstated
    DISPUTE_FEE = "dispute_fee"  # Stripe's fee for handling the dispute


_DISPUTE_KINDS = frozenset({EntryKind.DISPUTE, EntryKind.DISPUTE_REVERSAL, EntryKind.DISPUTE_FEE})


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement, in minor units, recorded once per (gateway_ref, kind).

    `borne_by` tells whose balance a dispute's money moved on (the platform's with a
    destination charge, until it recovers a lost dispute from the tenant); every other
    kind is the tenant's.
    """

    tenant_id: str
    booking_id: str
    kind: EntryKind
    amount: Money
    gateway_ref: str
    created_at: datetime
    borne_by: Party = Party.TENANT

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


def reported_fee_refund(fee: Money, counted: Money, reported: Money | None) -> Money:
    """The part of a refund that gives back the platform's fee, from what the gateway
    reports: the fee's `amount_refunded` in all (`reported`) less what the booking already
    counts as given back of it (`counted`), never below zero nor beyond what is left of the
    fee. Nothing reported (None) gives nothing back: a fee refund is never guessed.

    Minor units of the fee's currency; InvalidAmount for a mix of currencies.
    """
    if reported is None:
        return Money.zero(fee.currency)
    if reported.currency != fee.currency or counted.currency != fee.currency:
        raise InvalidAmount("a fee refund is in the fee's currency")
    left = fee - counted
    given = reported - counted
    if given.is_negative or left.is_negative:
        return Money.zero(fee.currency)
    return min(given, left)


def customer_refund_entry(
    booking: Booking, refund_id: str, amount: Money, at: datetime
) -> LedgerEntry:
    """What went back to the customer with one refund (its fee refund is booked apart,
    from what the gateway reports: `fee_refund_entries`)."""
    return LedgerEntry(booking.tenant_id, booking.id, EntryKind.REFUND, amount, refund_id, at)


def fee_refund_entries(
    booking: Booking,
    payment_ref: str,
    reported: Money | None,
    entries: Iterable[LedgerEntry],
    at: datetime,
) -> list[LedgerEntry]:
    """The fee refund that brings the booking's fee refunds up to what the gateway reports
    its application fee has given back in all (`reported`, the fee's `amount_refunded`).

    `entries` are the booking's entries so far. The entry is keyed by the payment
    (`payment_ref`) and the reported total, so whoever books the same report first books
    it, once; a report no higher than what is booked (or None) books nothing, and the fee
    refunds never exceed the fee.
    """
    fee = booking.quote.application_fee
    booked = Money.zero(fee.currency)
    for entry in entries:
        if entry.kind is EntryKind.APPLICATION_FEE_REFUND and entry.amount.currency == fee.currency:
            booked += entry.amount
    step = reported_fee_refund(fee, booked, reported)
    if step.is_zero or reported is None:
        return []
    ref = f"{payment_ref}@application_fee_refunded:{reported.amount}"
    return [
        LedgerEntry(booking.tenant_id, booking.id, EntryKind.APPLICATION_FEE_REFUND, step, ref, at)
    ]


def dispute_funds_entries(
    booking: Booking,
    dispute_id: str,
    *,
    debits: Party,
    at: datetime,
    withdrawn: Money | None = None,
    reinstated: Money | None = None,
    fee: Money | None = None,
) -> list[LedgerEntry]:
    """What the gateway reports a dispute moved, on the balance it debits (`debits`).

    One entry of each kind per dispute (its id is the gateway_ref), so a replayed event
    counts nothing twice; a zero or missing amount makes no entry.
    """
    moved = (
        (EntryKind.DISPUTE, withdrawn),
        (EntryKind.DISPUTE_REVERSAL, reinstated),
        (EntryKind.DISPUTE_FEE, fee),
    )
    return [
        LedgerEntry(booking.tenant_id, booking.id, kind, amount, dispute_id, at, debits)
        for kind, amount in moved
        if amount is not None and amount.amount > 0
    ]


def recovery_entries(booking: Booking, dispute: Dispute, at: datetime) -> list[LedgerEntry]:
    """A lost dispute taken back from the tenant's transfer, once the gateway made it."""
    recovery = dispute.recovery
    if recovery is None or recovery.reversal_id is None:
        return []
    return [
        LedgerEntry(
            booking.tenant_id,
            booking.id,
            EntryKind.DISPUTE,
            recovery.amount,
            recovery.reversal_id,
            at,
            Party.TENANT,
        )
    ]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A tenant's money in one currency:
    net = gross − refunds − fees + fee_refunds − disputes.

    `disputes` is what the tenant bore: disputed funds and dispute fees taken from its
    balance, less funds reinstated to it.
    """

    currency: str
    bookings: int
    gross: Money
    refunds: Money
    fees: Money
    fee_refunds: Money
    disputes: Money

    @property
    def net(self) -> Money:
        return self.gross - self.refunds - self.fees + self.fee_refunds - self.disputes


def tenant_bears(kind: EntryKind, borne_by: Party) -> bool:
    """Whether an entry counts in the tenant's statement: all but the platform's disputes."""
    return kind not in _DISPUTE_KINDS or borne_by is Party.TENANT


def statement_line(currency: str, bookings: int, sums: dict[EntryKind, int]) -> StatementLine:
    """The line of one currency from the sums per kind of the entries the tenant bears."""

    def total(kind: EntryKind) -> Money:
        return Money(sums.get(kind, 0), currency)

    disputes = (
        total(EntryKind.DISPUTE) + total(EntryKind.DISPUTE_FEE) - total(EntryKind.DISPUTE_REVERSAL)
    )
    return StatementLine(
        currency=currency,
        bookings=bookings,
        gross=total(EntryKind.CHARGE),
        refunds=total(EntryKind.REFUND),
        fees=total(EntryKind.APPLICATION_FEE),
        fee_refunds=total(EntryKind.APPLICATION_FEE_REFUND),
        disputes=disputes,
    )


@dataclass(frozen=True, slots=True)
class EntrySum:
    """The entries of one currency, kind and bearer, summed: their amount in minor units
    and how many distinct bookings they belong to."""

    currency: str
    kind: EntryKind
    borne_by: Party
    amount: int
    bookings: int


def statement_from_sums(sums: Iterable[EntrySum]) -> list[StatementLine]:
    """The statement, one line per currency ordered by code, from the entries' sums (the
    one fold: a database sums its rows, the in-memory ledger its entries)."""
    totals: dict[str, dict[EntryKind, int]] = {}
    booked: dict[str, int] = {}
    for part in sums:
        kinds = totals.setdefault(part.currency, dict.fromkeys(EntryKind, 0))
        if tenant_bears(part.kind, part.borne_by):
            kinds[part.kind] += part.amount
        if part.kind is EntryKind.CHARGE:
            booked[part.currency] = booked.get(part.currency, 0) + part.bookings
    return [
        statement_line(currency, booked.get(currency, 0), kinds)
        for currency, kinds in sorted(totals.items())
    ]


def statement(entries: Iterable[LedgerEntry]) -> list[StatementLine]:
    """Sum ledger entries per currency, ordered by currency code."""
    amounts: dict[tuple[str, EntryKind, Party], int] = {}
    bookings: dict[tuple[str, EntryKind, Party], set[str]] = {}
    for entry in entries:
        key = (entry.amount.currency, entry.kind, entry.borne_by)
        amounts[key] = amounts.get(key, 0) + entry.amount.amount
        bookings.setdefault(key, set()).add(entry.booking_id)
    return statement_from_sums(
        EntrySum(currency, kind, party, amount, len(bookings[currency, kind, party]))
        for (currency, kind, party), amount in amounts.items()
    )
