"""Disputes on a booking: snapshots applied newest-first, a final outcome stays final,
refunds refused while the charge is not refundable, and who bears a lost dispute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.booking import Booking, CancelledBy, PaymentStatus
from domain.cancellation import RefundSplit
from domain.dispute import DisputeBearer, DisputeSnapshot, DisputeStatus, Party, dispute_debits
from domain.errors import DisputeOpen, IllegalTransition
from domain.money import Money
from domain.tenant import ChargeModel
from tests.unit.test_booking import NOW, pending, usd

S = DisputeStatus


def snapshot(status: DisputeStatus, minutes: int, *, refundable: bool = False) -> DisputeSnapshot:
    return DisputeSnapshot(
        dispute_id="dp_1",
        amount=usd(4400),
        reason="fraudulent",
        status=status,
        is_charge_refundable=refundable,
        opened_at=NOW,
        as_of=NOW + timedelta(minutes=minutes),
    )


def paid() -> Booking:
    return pending().confirm("pi_1")


@pytest.mark.parametrize(
    ("snapshots", "status", "payment"),
    [
        ([(S.NEEDS_RESPONSE, 0)], S.NEEDS_RESPONSE, PaymentStatus.DISPUTED),
        ([(S.NEEDS_RESPONSE, 0), (S.UNDER_REVIEW, 5)], S.UNDER_REVIEW, PaymentStatus.DISPUTED),
        ([(S.UNDER_REVIEW, 5), (S.NEEDS_RESPONSE, 0)], S.UNDER_REVIEW, PaymentStatus.DISPUTED),
        ([(S.NEEDS_RESPONSE, 0), (S.WON, 9)], S.WON, PaymentStatus.PAID),
        ([(S.WON, 9), (S.NEEDS_RESPONSE, 0)], S.WON, PaymentStatus.PAID),
        ([(S.LOST, 9), (S.UNDER_REVIEW, 5)], S.LOST, PaymentStatus.DISPUTED),
        # A final outcome stays final, even against a later-stamped contradiction.
        ([(S.LOST, 9), (S.NEEDS_RESPONSE, 12)], S.LOST, PaymentStatus.DISPUTED),
        ([(S.WON, 9), (S.LOST, 12)], S.WON, PaymentStatus.PAID),
        ([(S.WARNING_NEEDS_RESPONSE, 0), (S.WARNING_CLOSED, 3)], S.WARNING_CLOSED, None),
    ],
)
def test_the_newest_snapshot_decides_and_a_closed_dispute_stays_closed(
    snapshots: list[tuple[DisputeStatus, int]],
    status: DisputeStatus,
    payment: PaymentStatus | None,
) -> None:
    booking = paid()
    for state, minutes in snapshots:
        booking = booking.record_dispute(snapshot(state, minutes))
        assert booking.record_dispute(snapshot(state, minutes)) is booking  # idempotent
    (dispute,) = booking.disputes
    assert dispute.status is status
    assert booking.payment_status is (payment or PaymentStatus.PAID)
    assert (dispute.closed_at is not None) is dispute.is_closed


def test_while_the_charge_is_not_refundable_nothing_goes_back() -> None:
    disputed = paid().record_dispute(snapshot(S.NEEDS_RESPONSE, 0))
    with pytest.raises(DisputeOpen):
        disputed.reserve_refund("bookpay-refund-1", RefundSplit(usd(1000), usd(0)))
    with pytest.raises(DisputeOpen):
        disputed.cancel(CancelledBy.CUSTOMER)
    # A refund Stripe made all the same (e.g. before the dispute) is still recorded.
    recorded = disputed.record_refund("re_1", RefundSplit(usd(1000), usd(0)))
    assert recorded.refunded.customer_refund == usd(1000)


def test_a_lost_dispute_refuses_refunds_saying_it_was_lost_not_that_it_is_open() -> None:
    lost = paid().record_dispute(snapshot(S.NEEDS_RESPONSE, 0)).record_dispute(snapshot(S.LOST, 10))
    with pytest.raises(DisputeOpen, match="lost a dispute") as refused:
        lost.reserve_refund("bookpay-refund-1", RefundSplit(usd(1000), usd(0)))
    assert "until the dispute is closed" not in str(refused.value)
    with pytest.raises(DisputeOpen, match="open dispute"):
        paid().record_dispute(snapshot(S.NEEDS_RESPONSE, 0)).cancel(CancelledBy.CUSTOMER)


def test_an_inquiry_stripe_still_lets_refund_blocks_nothing() -> None:
    inquiry = paid().record_dispute(snapshot(S.WARNING_NEEDS_RESPONSE, 0, refundable=True))
    assert inquiry.payment_status is PaymentStatus.DISPUTED
    cancelled = inquiry.cancel(CancelledBy.TENANT)
    assert cancelled.status.value == "cancelled"


def test_an_unpaid_booking_has_no_dispute() -> None:
    with pytest.raises(IllegalTransition):
        pending().record_dispute(snapshot(S.NEEDS_RESPONSE, 0))


@pytest.mark.parametrize(
    ("model", "bearer", "recovered"),
    [
        (ChargeModel.DESTINATION, DisputeBearer.TENANT, 4000),  # what the tenant received
        (ChargeModel.DESTINATION, DisputeBearer.PLATFORM, None),
        (ChargeModel.DIRECT, DisputeBearer.TENANT, None),  # its own account was debited
        (ChargeModel.DIRECT, DisputeBearer.PLATFORM, None),
    ],
)
def test_a_lost_dispute_is_recovered_from_the_tenant_only_for_destination_charges(
    model: ChargeModel, bearer: DisputeBearer, recovered: int | None
) -> None:
    lost = paid().record_dispute(snapshot(S.LOST, 9))
    recovering = lost.reserve_dispute_recovery("dp_1", model, bearer)
    (dispute,) = recovering.disputes
    if recovered is None:
        assert recovering is lost
        return
    assert dispute.recovery is not None
    assert dispute.recovery.amount == usd(recovered)
    assert dispute.recovery.reference == "bookpay-dispute-dp_1"
    assert recovering.reserve_dispute_recovery("dp_1", model, bearer) is recovering
    settled = recovering.settle_dispute_recovery("dp_1", "trr_1")
    assert settled.settle_dispute_recovery("dp_1", "trr_1") is settled
    assert not settled.disputes[0].recovery.pending  # type: ignore[union-attr]


def test_a_won_dispute_is_never_recovered() -> None:
    won = paid().record_dispute(snapshot(S.WON, 9))
    assert (
        won.reserve_dispute_recovery("dp_1", ChargeModel.DESTINATION, DisputeBearer.TENANT) is won
    )


def test_what_refunds_took_back_is_not_taken_again() -> None:
    refunded = paid().record_refund("re_1", RefundSplit(usd(1100), usd(100)))
    lost = refunded.record_refund("re_2", RefundSplit(Money(0, "usd") + usd(1), usd(0)))
    lost = lost.record_dispute(snapshot(S.LOST, 9))
    recovering = lost.reserve_dispute_recovery(
        "dp_1", ChargeModel.DESTINATION, DisputeBearer.TENANT
    )
    # The tenant received 40.00; refunds took 10.00 + 0.01 back from it.
    assert recovering.disputes[0].recovery.amount == usd(2999)  # type: ignore[union-attr]


def test_a_charges_owner_bears_the_funds_stripe_withdraws() -> None:
    assert dispute_debits(ChargeModel.DIRECT) is Party.TENANT
    assert dispute_debits(ChargeModel.DESTINATION) is Party.PLATFORM


def test_a_dispute_in_another_currency_than_the_payment_is_refused() -> None:
    from dataclasses import replace

    from domain.errors import CurrencyMismatch

    with pytest.raises(CurrencyMismatch):
        paid().record_dispute(replace(snapshot(S.NEEDS_RESPONSE, 0), amount=Money(4400, "eur")))
