"""Reconcile money: each recent booking's ledger against what the gateway shows of its payment.

Webhooks can be lost (Stripe gives up after three days; an endpoint can be misconfigured),
and a refund or dispute can be made in Stripe's dashboard. So for each paid booking of a
tenant created in the last `days` days (a booking is paid within days of its checkout),
a page at a time, the gateway is asked for the payment's charge with its refunds,
application fee and disputes (PaymentGateway.retrieve_payment), and Bookpay repairs what
the gateway's own facts prove, through the handlers of the events that were lost:

- a refund the gateway made that the booking lacks (e.g. in the dashboard, its
  `charge.refunded` lost): recorded as that event would have (ChargeRefunded), with the
  fee refund the gateway reports;
- a fee refund the gateway reports beyond what the ledger books (its
  `application_fee.refunded` lost): booked (ApplicationFeeRefunded);
- a dispute the gateway shows that the booking lacks, shows in another status, or whose
  withdrawn or reinstated funds the ledger lacks: recorded (DisputeUpdated), its funds and
  fee included; a lost one the tenant bears is recovered from it as usual. A dispute the
  booking records that the gateway does not list is reported, never removed.

Each repair carries an event id derived from the fact it repairs, so running it again (or
on several nodes at once) repairs nothing twice, and the real event arriving later changes
nothing. What is still different afterwards cannot be proven from the gateway's facts
alone (e.g. the ledger counts more refunded than the gateway made, or a charge of another
amount): it is reported for a human, never changed. A booking with a refund of unknown
outcome is left to refund convergence (application/settle_reserved_refunds.py) first.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from application.errors import GatewayError, GatewayInvalidRequest
from application.payment_events import ApplyPaymentEvent, Outcome
from application.ports.gateway import DisputeFacts, PaymentGateway, PaymentSnapshot
from application.ports.gateway_events import (
    ApplicationFeeRefunded,
    ChargeRefunded,
    DisputeUpdated,
    PaymentEvent,
    RefundRecord,
)
from application.ports.repositories import ConcurrentUpdate
from application.ports.time_and_identity import Clock
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus
from domain.ledger import EntryKind, LedgerEntry
from domain.money import Money
from domain.tenant import Tenant

log = logging.getLogger("bookpay.reconcile")

# Paid bookings created this many days back are compared by the periodic job: each costs
# a few gateway requests, and a webhook Stripe could not deliver shows within a day
# (`bookpay reconcile --days N` looks further back).
DEFAULT_DAYS = 1
PAGE = 200

_REFUNDS_MADE = frozenset({"succeeded", "pending", "requires_action"})


@dataclass(slots=True)
class PaymentsReport:
    """What comparing the bookings' ledgers with the gateway found, one line each."""

    repaired: list[str] = field(default_factory=list)
    for_a_human: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # booking ids, tried next time
    recovered: list[str] = field(default_factory=list)  # lost disputes taken back by a repair
    compared: int = 0


class ReconcilePayments:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        apply_event: ApplyPaymentEvent,
        clock: Clock,
        *,
        days: int = DEFAULT_DAYS,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._apply = apply_event
        self._clock = clock
        self._days = days

    async def __call__(
        self, tenant: Tenant, report: PaymentsReport | None = None
    ) -> PaymentsReport:
        """Compare the tenant's recent paid bookings with the gateway, repairing what it
        proves; gateway failures are reported (unreachable), never raised."""
        report = report if report is not None else PaymentsReport()
        since = self._clock.now() - timedelta(days=self._days)
        cursor: str | None = None
        while True:
            async with self._uow() as uow:
                page = await uow.bookings.list(
                    tenant.id,
                    statuses=(BookingStatus.CONFIRMED, BookingStatus.CANCELLED),
                    created_from=since,
                    limit=PAGE,
                    cursor=cursor,
                )
            for booking in page.items:
                await self.booking(tenant, booking, report)
            if page.next_cursor is None:
                return report
            cursor = page.next_cursor

    async def booking(self, tenant: Tenant, booking: Booking, report: PaymentsReport) -> None:
        """Compare one booking's ledger and disputes with its payment at the gateway."""
        if booking.payment_intent_id is None or booking.unknown_refunds:
            return
        try:
            payment = await self._gateway.retrieve_payment(
                booking.payment_intent_id, account_id=tenant.charge_account_id
            )
        except GatewayInvalidRequest as refused:  # Stripe knows no charge of the payment
            report.for_a_human.append(
                f"{booking.id}: the gateway shows no charge of payment "
                f"{booking.payment_intent_id} ({refused})"
            )
            return
        except GatewayError as error:
            log.info("payment of booking %s not reconciled: %s", booking.id, error)
            report.unreachable.append(booking.id)
            return
        report.compared += 1
        async with self._uow() as uow:
            entries = await uow.ledger.list_for_booking(booking.tenant_id, booking.id)
        for repair, what in self._repairs(tenant, booking, payment, entries):
            try:
                applied = await self._apply(repair)
            except (GatewayError, ConcurrentUpdate) as error:  # another writer, or Stripe
                log.info("booking %s not repaired: %s", booking.id, error)
                report.unreachable.append(booking.id)
                return
            if applied.outcome is Outcome.APPLIED:
                report.repaired.append(f"{booking.id}: {what}")
            report.recovered += applied.recovered
        report.for_a_human += await self._differences(booking, payment)

    def _repairs(
        self,
        tenant: Tenant,
        booking: Booking,
        payment: PaymentSnapshot,
        entries: list[LedgerEntry],
    ) -> list[tuple[PaymentEvent, str]]:
        """The lost events the gateway's objects prove, each with what it repairs."""
        booked = _sums(entries)
        now = self._clock.now()
        account_id = tenant.charge_account_id
        repairs: list[tuple[PaymentEvent, str]] = []
        made = tuple(
            RefundRecord(r.refund_id, r.amount)
            for r in payment.refunds
            if r.status in _REFUNDS_MADE
        )
        counted = booking.refunded_or_reserved.customer_refund
        if (
            payment.amount_refunded.currency == counted.currency
            and payment.amount_refunded > counted
        ):
            refunded = ChargeRefunded(
                event_id=f"reconcile:{payment.charge_id}:refunded:{payment.amount_refunded.amount}",
                created_at=now,
                account_id=account_id,
                charge_id=payment.charge_id,
                payment_intent_id=booking.payment_intent_id,
                amount_refunded=payment.amount_refunded,
                refunds=made,
                fee_refunded=payment.application_fee_refunded,
            )
            repairs.append(
                (
                    refunded,
                    f"refund of {_shown(payment.amount_refunded - counted)} "
                    "made at the gateway recorded",
                )
            )
        fee_refunded_in_all = payment.application_fee_refunded
        fee_refunds_booked = booked[EntryKind.APPLICATION_FEE_REFUND]
        if fee_refunded_in_all is not None and fee_refunded_in_all.amount > fee_refunds_booked:
            fee_refunded = ApplicationFeeRefunded(
                event_id=(
                    f"reconcile:{payment.charge_id}:fee_refunded:{fee_refunded_in_all.amount}"
                ),
                created_at=now,
                account_id=account_id,
                fee_id=f"{payment.charge_id}:application_fee",
                charge_id=payment.charge_id,
                payment_intent_id=booking.payment_intent_id,
                amount_refunded=fee_refunded_in_all,
            )
            repairs.append((fee_refunded, "fee refund the gateway reports booked"))
        for dispute in payment.disputes:
            if _dispute_known(booking, dispute, entries):
                continue
            updated = DisputeUpdated(
                event_id=(
                    f"reconcile:{dispute.dispute_id}:{dispute.status.value}:"
                    f"{len(dispute.balance_transactions)}"
                ),
                created_at=now,
                account_id=account_id,
                dispute_id=dispute.dispute_id,
                charge_id=payment.charge_id,
                payment_intent_id=booking.payment_intent_id,
                amount=dispute.amount,
                reason=dispute.reason,
                status=dispute.status,
                is_charge_refundable=dispute.is_charge_refundable,
                opened_at=dispute.opened_at,
                balance_transactions=dispute.balance_transactions,
            )
            repairs.append((updated, f"dispute {dispute.dispute_id} ({dispute.status}) recorded"))
        return repairs

    async def _differences(self, booking: Booking, payment: PaymentSnapshot) -> list[str]:
        """What still differs between the booking's ledger and the gateway, in words."""
        async with self._uow() as uow:
            current = await uow.bookings.get(booking.tenant_id, booking.id)
            entries = await uow.ledger.list_for_booking(booking.tenant_id, booking.id)
        if current is None or current.unknown_refunds:
            return []
        booked = _sums(entries)
        currency = payment.amount.currency
        zero = Money.zero(currency)
        expected = (
            ("the charge", EntryKind.CHARGE, payment.amount),
            ("the application fee", EntryKind.APPLICATION_FEE, payment.application_fee or zero),
            ("refunds", EntryKind.REFUND, payment.amount_refunded),
            (
                "fee refunds",
                EntryKind.APPLICATION_FEE_REFUND,
                payment.application_fee_refunded or zero,
            ),
        )
        found = [
            f"{booking.id}: {what} is {_shown(Money(booked[kind], currency))} in the ledger, "
            f"{_shown(gateway)} at the gateway"
            for what, kind, gateway in expected
            if booked[kind] != gateway.amount
        ]
        for dispute in payment.disputes:
            known = current.dispute(dispute.dispute_id)
            if known is None or known.status is not dispute.status:
                shown = "missing" if known is None else known.status.value
                found.append(
                    f"{booking.id}: dispute {dispute.dispute_id} is {shown} in Bookpay, "
                    f"{dispute.status.value} at the gateway"
                )
        # Recorded from an event the gateway's facts do not back (never repaired: a human
        # decides whether the booking is disputed).
        listed = {dispute.dispute_id for dispute in payment.disputes}
        found += [
            f"{booking.id}: dispute {known.dispute_id} is {known.status.value} in Bookpay, "
            "not listed at the gateway"
            for known in current.disputes
            if known.dispute_id not in listed
        ]
        return found


def _dispute_known(booking: Booking, dispute: DisputeFacts, entries: list[LedgerEntry]) -> bool:
    """Whether the booking shows the dispute as the gateway does: its status, and the
    funds its balance transactions moved (withdrawn, reinstated) in the ledger."""
    known = booking.dispute(dispute.dispute_id)
    if known is None or known.status is not dispute.status:
        return False
    moved = {e.kind for e in entries if e.gateway_ref == dispute.dispute_id}
    for funds in dispute.balance_transactions:
        kind = EntryKind.DISPUTE if funds.amount.is_negative else EntryKind.DISPUTE_REVERSAL
        if funds.amount.amount != 0 and kind not in moved:
            return False
    return True


def _sums(entries: list[LedgerEntry]) -> Counter[EntryKind]:
    sums: Counter[EntryKind] = Counter()
    for entry in entries:
        sums[entry.kind] += entry.amount.amount
    return sums


def _shown(money: Money) -> str:
    return f"{money.amount} {money.currency} (minor units)"
