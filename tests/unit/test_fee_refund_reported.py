"""A settled refund keeps the fee refund the gateway reports, not the policy's share."""

from domain.cancellation import RefundSplit
from domain.money import Money
from tests.unit.test_booking import S, in_status, usd


def test_a_settled_refund_keeps_the_fee_refund_the_gateway_reports() -> None:
    # 44.00 paid, 4.00 of it the platform's fee; 30.00 refunded, the policy said 3.00 back.
    reserved = in_status(S.CONFIRMED).reserve_refund("r1", RefundSplit(usd(3000), usd(300)))
    settled = reserved.settle_refund("r1", "re_1")

    reported = settled.fee_refund_reported("re_1", usd(273))

    assert reported.refunded == RefundSplit(usd(3000), usd(273))
    # The tenant received 40.00 and gave back 30.00 − 2.73.
    assert reported.transfer_left == usd(4000 - 3000 + 273)
    assert reported.fee_refund_reported("re_1", usd(273)) is reported


def test_a_reported_fee_refund_stays_within_the_refund_and_the_fee() -> None:
    # The platform's fee is 4.00; a 2.00 refund cannot give back more than 2.00 of it,
    # and all refunds together never more than the 4.00.
    small = in_status(S.CONFIRMED).reserve_refund("r1", RefundSplit(usd(200), usd(20)))
    first = small.settle_refund("r1", "re_1")
    both = first.reserve_refund("r2", RefundSplit(usd(1000), usd(0))).settle_refund("r2", "re_2")

    assert first.fee_refund_reported("re_1", usd(5000)).refunded.application_fee_refund == (
        usd(200)
    )
    assert first.fee_refund_reported("re_1", usd(-5)).refunded.application_fee_refund == usd(0)
    capped = both.fee_refund_reported("re_1", usd(200)).fee_refund_reported("re_2", usd(1000))
    assert capped.refunded.application_fee_refund == Money(400, "usd")


def test_a_refund_still_unknown_or_unknown_to_the_booking_is_left_alone() -> None:
    reserved = in_status(S.CONFIRMED).reserve_refund("r1", RefundSplit(usd(1000), usd(100)))

    assert reserved.fee_refund_reported("r1", usd(50)) is reserved
    assert reserved.fee_refund_reported("re_nowhere", usd(50)) is reserved
