"""Cancellation policies, and how a refund splits between the platform and the tenant."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.cancellation import (
    CancellationPolicy,
    CancellationWindow,
    RefundSplit,
    customer_cancellation_refund,
    partial_refund,
    tenant_cancellation_refund,
)
from domain.errors import (
    CancellationWindowClosed,
    InvalidCancellationPolicy,
    InvalidRefund,
    NaiveDatetime,
    RefundExceedsPaid,
)
from domain.fee_quote import FeeQuote
from domain.fees import FeeBearer, FeePolicy
from domain.fees import RefundOnCancel as Mode
from domain.money import Money

STARTS_AT = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)
POLICY = CancellationPolicy(
    (CancellationWindow(24, 50), CancellationWindow(48, 100), CancellationWindow(2, 10))
)


def usd(cents: int) -> Money:
    return Money(cents, "usd")


CUSTOMER = FeeBearer.customer()
TWENTY_DOLLARS = usd(2000)


def quote(bearer: FeeBearer = CUSTOMER, price: Money = TWENTY_DOLLARS) -> FeeQuote:
    """Two seats at `price` with a 10 % fee: 20.00 USD each → 44.00 paid, 4.00 fee."""
    return FeePolicy(percent_bps=1000, bearer=bearer).quote(price, 2)


def hours_before(hours: float) -> datetime:
    return STARTS_AT - timedelta(hours=hours)


class TestPolicy:
    def test_windows_are_kept_widest_first(self) -> None:
        assert [w.hours_before for w in POLICY.windows] == [48, 24, 2]

    @pytest.mark.parametrize(
        ("hours", "percent"), [(100, 100), (48, 100), (47.99, 50), (24, 50), (23, 10), (2, 10)]
    )
    def test_the_widest_window_that_still_applies_wins(self, hours: float, percent: int) -> None:
        assert POLICY.refund_percent(STARTS_AT, hours_before(hours)) == percent

    @pytest.mark.parametrize("hours", [1.99, 0, -1])
    def test_outside_every_window_the_customer_cannot_cancel(self, hours: float) -> None:
        with pytest.raises(CancellationWindowClosed) as refused:
            POLICY.refund_percent(STARTS_AT, hours_before(hours))
        assert refused.value.hours_before_start == pytest.approx(hours)

    def test_without_windows_a_full_refund_until_the_start(self) -> None:
        assert CancellationPolicy().refund_percent(STARTS_AT, hours_before(0.01)) == 100
        with pytest.raises(CancellationWindowClosed):
            CancellationPolicy().refund_percent(STARTS_AT, STARTS_AT)

    def test_times_must_be_aware(self) -> None:
        with pytest.raises(NaiveDatetime):
            POLICY.refund_percent(STARTS_AT, datetime(2026, 3, 1, 10, 0))  # noqa: DTZ001

    @pytest.mark.parametrize(
        "windows",
        [
            (CancellationWindow(-1, 50),),
            (CancellationWindow(True, 50),),
            (CancellationWindow(24, 101),),
            (CancellationWindow(24, -1),),
            (CancellationWindow(24, 100), CancellationWindow(24, 50)),
        ],
    )
    def test_impossible_policies_are_refused(self, windows: tuple[CancellationWindow, ...]) -> None:
        with pytest.raises(InvalidCancellationPolicy):
            CancellationPolicy(windows)


class TestCustomerCancellation:
    @pytest.mark.parametrize(
        ("bearer", "mode", "percent", "refund", "fee_back"),
        [
            (FeeBearer.customer(), Mode.PROPORTIONAL, 50, 2200, 200),
            (FeeBearer.customer(), Mode.NEVER, 50, 2000, 0),
            (FeeBearer.tenant(), Mode.PROPORTIONAL, 50, 2000, 200),
            (FeeBearer.tenant(), Mode.NEVER, 50, 2000, 0),
            (FeeBearer.customer(), Mode.PROPORTIONAL, 100, 4400, 400),
            (FeeBearer.customer(), Mode.NEVER, 100, 4000, 0),
            (FeeBearer.customer(), Mode.PROPORTIONAL, 0, 0, 0),
        ],
    )
    def test_the_refund_follows_the_window_and_the_fee_mode(
        self, bearer: FeeBearer, mode: Mode, percent: int, refund: int, fee_back: int
    ) -> None:
        split = customer_cancellation_refund(quote(bearer), percent, mode)
        assert split == RefundSplit(usd(refund), usd(fee_back))
        assert split.tenant_share == usd(refund - fee_back)

    @pytest.mark.parametrize("percent", [-1, 101])
    def test_a_percentage_outside_0_to_100_is_refused(self, percent: int) -> None:
        with pytest.raises(InvalidRefund):
            customer_cancellation_refund(quote(), percent, Mode.PROPORTIONAL)

    def test_earlier_refunds_count_towards_the_window(self) -> None:
        already = partial_refund(quote(), usd(1000), Mode.PROPORTIONAL)
        top_up = customer_cancellation_refund(quote(), 50, Mode.PROPORTIONAL, already)
        assert (already + top_up) == RefundSplit(usd(2200), usd(200))
        more_than_window = partial_refund(quote(), usd(3000), Mode.PROPORTIONAL)
        nothing = customer_cancellation_refund(quote(), 50, Mode.PROPORTIONAL, more_than_window)
        assert nothing.is_empty
        assert nothing.application_fee_refund.is_zero

    def test_kwd_refunds_are_in_steps_of_ten_fils(self) -> None:
        kwd = quote(price=Money(1250, "kwd"))  # 2.500 + 0.250 fee
        split = customer_cancellation_refund(kwd, 33, Mode.PROPORTIONAL)
        assert split.customer_refund.amount % 10 == 0
        assert split.application_fee_refund.amount % 10 == 0
        assert split == RefundSplit(Money(910, "kwd"), Money(80, "kwd"))


class TestTenantCancellation:
    @pytest.mark.parametrize(
        ("mode", "fee_back", "tenant_gives_back"),
        [(Mode.PROPORTIONAL, 400, 4000), (Mode.NEVER, 0, 4400)],
    )
    def test_the_customer_gets_everything_back(
        self, mode: Mode, fee_back: int, tenant_gives_back: int
    ) -> None:
        split = tenant_cancellation_refund(quote(), mode)
        assert split.customer_refund == usd(4400)
        assert split.application_fee_refund == usd(fee_back)
        assert split.tenant_share == usd(tenant_gives_back)

    def test_only_what_is_not_back_yet(self) -> None:
        already = partial_refund(quote(), usd(1000), Mode.PROPORTIONAL)
        rest = tenant_cancellation_refund(quote(), Mode.PROPORTIONAL, already)
        assert already + rest == RefundSplit(usd(4400), usd(400))
        assert tenant_cancellation_refund(quote(), Mode.PROPORTIONAL, already + rest).is_empty


class TestPartialRefunds:
    def test_the_fee_comes_back_pro_rata_with_each_refund(self) -> None:
        first = partial_refund(quote(), usd(1000), Mode.PROPORTIONAL)
        second = partial_refund(quote(), usd(500), Mode.PROPORTIONAL, first)
        assert (first.application_fee_refund, second.application_fee_refund) == (usd(91), usd(45))

    def test_each_refund_is_rounded_on_its_own_as_stripe_does(self) -> None:
        # 4.00 × 6/44 = 0.545… → 0.01 each time; on running totals the second would be
        # 0.01 (4.00 × 12/44 = 1.09…) less the first, nothing.
        first = partial_refund(quote(), usd(6), Mode.PROPORTIONAL)
        second = partial_refund(quote(), usd(6), Mode.PROPORTIONAL, first)
        assert (first.application_fee_refund, second.application_fee_refund) == (usd(1), usd(1))

    def test_the_refund_that_empties_the_charge_gives_back_the_rest_of_the_fee(self) -> None:
        first = partial_refund(quote(), usd(6), Mode.PROPORTIONAL)
        rest = partial_refund(quote(), usd(4394), Mode.PROPORTIONAL, first)
        assert rest.application_fee_refund == usd(399)

    def test_tiny_refunds_never_round_the_fee_up_beyond_the_refund(self) -> None:
        already = RefundSplit.nothing("usd")
        for _ in range(44):
            split = partial_refund(quote(), usd(1), Mode.PROPORTIONAL, already)
            assert split.application_fee_refund <= split.customer_refund
            already = already + split
        assert already.application_fee_refund <= usd(400)

    def test_with_a_non_refundable_fee_the_tenant_gives_back_everything(self) -> None:
        split = partial_refund(quote(), usd(1000), Mode.NEVER)
        assert split == RefundSplit(usd(1000), usd(0))

    @pytest.mark.parametrize(
        ("amount", "error"),
        [
            (usd(4401), RefundExceedsPaid),
            (usd(0), InvalidRefund),
            (usd(-1), InvalidRefund),
            (Money(100, "eur"), InvalidRefund),
        ],
    )
    def test_refunds_that_cannot_be_made_are_refused(
        self, amount: Money, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            partial_refund(quote(), amount, Mode.PROPORTIONAL)

    def test_kwd_refunds_must_be_a_step_stripe_accepts(self) -> None:
        with pytest.raises(InvalidRefund):
            partial_refund(quote(price=Money(1250, "kwd")), Money(1005, "kwd"), Mode.NEVER)

    def test_the_sum_of_refunds_never_exceeds_the_payment(self) -> None:
        already = partial_refund(quote(), usd(4000), Mode.PROPORTIONAL)
        with pytest.raises(RefundExceedsPaid) as refused:
            partial_refund(quote(), usd(401), Mode.PROPORTIONAL, already)
        assert (refused.value.requested, refused.value.refundable) == (401, 400)
