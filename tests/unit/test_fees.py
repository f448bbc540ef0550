"""Fee policies: what they refuse to be, and the quotes they give."""

import pytest

from domain.errors import BelowMinimumCharge, CurrencyMismatch, InvalidAmount, InvalidFeePolicy
from domain.fee_quote import BearerKind
from domain.fees import FeeBearer, FeePolicy, Tier, TierMode
from domain.money import Money


def usd(cents: int) -> Money:
    return Money(cents, "usd")


@pytest.mark.parametrize(
    "make_policy",
    [
        pytest.param(lambda: FeePolicy(percent_bps=-1), id="negative percentage"),
        pytest.param(lambda: FeePolicy(percent_bps=10_001), id="over 100 %"),
        pytest.param(lambda: FeePolicy(percent_bps=True), id="a bool is not a rate"),
        pytest.param(lambda: FeePolicy(fixed=usd(-1)), id="negative fixed fee"),
        pytest.param(lambda: FeePolicy(per_seat_fixed=Money(5, "kwd")), id="KWD not in tens"),
        pytest.param(lambda: FeePolicy(minimum=usd(500), maximum=usd(100)), id="min above max"),
        pytest.param(lambda: FeePolicy(minimum=usd(100), maximum=Money(500, "eur")), id="mixed"),
        pytest.param(lambda: FeePolicy(fixed=usd(30), per_seat_fixed=Money(30, "eur")), id="mix"),
        pytest.param(lambda: FeePolicy(version=0), id="versions start at 1"),
        pytest.param(
            lambda: FeePolicy(tiers=(Tier(None, 500), Tier(usd(100), 1000))),
            id="open-ended tier not last",
        ),
        pytest.param(
            lambda: FeePolicy(tiers=(Tier(usd(100), 500), Tier(usd(100), 1000))),
            id="tier bounds not increasing",
        ),
        pytest.param(lambda: FeePolicy(tiers=(Tier(usd(0), 500),)), id="tier bound zero"),
        pytest.param(lambda: FeePolicy(tiers=(Tier(None, 10_001),)), id="tier rate over 100 %"),
        pytest.param(lambda: FeePolicy(tiers=(Tier(None, 0, usd(-1)),)), id="negative tier fee"),
        pytest.param(lambda: FeeBearer.split(10_001), id="customer share over 100 %"),
        pytest.param(lambda: FeeBearer.split(-1), id="negative customer share"),
    ],
)
def test_a_policy_that_contradicts_itself_is_refused(make_policy: object) -> None:
    with pytest.raises(InvalidFeePolicy):
        make_policy()  # type: ignore[operator]


def test_the_bearer_kind_follows_the_customer_share() -> None:
    assert FeeBearer.customer().kind is BearerKind.CUSTOMER
    assert FeeBearer.tenant().kind is BearerKind.TENANT
    assert FeeBearer.split(1).kind is BearerKind.SPLIT
    assert FeeBearer.split(10_000) == FeeBearer.customer()


def test_a_policy_knows_its_currency_only_from_its_amounts() -> None:
    assert FeePolicy(percent_bps=250).currency is None
    assert FeePolicy(tiers=(Tier(Money(1000, "jpy"), 100), Tier(None, 50))).currency == "jpy"


def test_a_new_version_changes_nothing_else() -> None:
    policy = FeePolicy(percent_bps=250, fixed=usd(30))
    newer = policy.with_version(2)
    assert newer.version == 2
    assert newer.quote(usd(2000), 1).service_fee == policy.quote(usd(2000), 1).service_fee
    assert newer.quote(usd(2000), 1).fee_policy_version == 2


def test_a_quote_shows_every_number() -> None:
    quote = FeePolicy(percent_bps=1000, bearer=FeeBearer.split(5000)).quote(usd(2000), 2)
    assert quote.subtotal == usd(4000)
    assert quote.service_fee == quote.application_fee == usd(400)
    assert quote.customer_fee == usd(200)
    assert quote.customer_total == usd(4200)
    assert quote.tenant_receives == usd(3800)
    assert (quote.seats, quote.unit_price, quote.currency) == (2, usd(2000), "usd")
    assert quote.fee_bearer is BearerKind.SPLIT


@pytest.mark.parametrize("seats", [0, -1, True, 1.5])
def test_a_quote_needs_a_whole_number_of_seats(seats: object) -> None:
    with pytest.raises(InvalidFeePolicy):
        FeePolicy().quote(usd(1000), seats)  # type: ignore[arg-type]


def test_a_quote_is_in_the_policy_currency() -> None:
    with pytest.raises(CurrencyMismatch):
        FeePolicy(fixed=usd(30)).quote(Money(1000, "eur"), 1)


def test_a_price_stripe_would_not_accept_is_refused() -> None:
    with pytest.raises(InvalidAmount):
        FeePolicy().quote(Money(1005, "kwd"), 1)


def test_a_charge_below_the_minimum_is_refused_with_its_numbers() -> None:
    with pytest.raises(BelowMinimumCharge) as refused:
        FeePolicy(percent_bps=1000, bearer=FeeBearer.tenant()).quote(usd(49), 1)
    assert (refused.value.amount, refused.value.minimum, refused.value.currency) == (49, 50, "usd")
    assert "below the minimum" in str(refused.value)


def test_a_customer_borne_fee_counts_towards_the_minimum() -> None:
    assert FeePolicy(fixed=usd(5)).quote(usd(45), 1).customer_total == usd(50)


def test_the_fee_never_exceeds_the_charge() -> None:
    quote = FeePolicy(minimum=usd(1000), bearer=FeeBearer.tenant()).quote(usd(600), 1)
    assert quote.application_fee == usd(600)
    assert quote.tenant_receives == usd(0)


class TestTiers:
    TIERS = (Tier(usd(10_000), 1000, usd(30)), Tier(None, 500))

    @pytest.mark.parametrize(
        ("subtotal", "volume", "marginal"),
        [
            (5_000, 530, 530),
            (10_000, 1_030, 1_030),  # a bound belongs to the tier it closes
            (10_001, 500, 1_030),  # 500.05 → 500 in volume; the one cent above costs 0.05
            (20_000, 1_000, 1_530),
        ],
    )
    def test_volume_prices_all_of_it_marginal_prices_each_slice(
        self, subtotal: int, volume: int, marginal: int
    ) -> None:
        for mode, fee in ((TierMode.VOLUME, volume), (TierMode.MARGINAL, marginal)):
            policy = FeePolicy(tiers=self.TIERS, tier_mode=mode)
            assert policy.quote(usd(subtotal), 1).service_fee == usd(fee), mode

    @pytest.mark.parametrize("mode", list(TierMode))
    def test_the_last_tier_prices_what_lies_above_every_bound(self, mode: TierMode) -> None:
        bounded = (Tier(usd(10_000), 1000), Tier(usd(50_000), 500))
        policy = FeePolicy(tiers=bounded, tier_mode=mode)
        expected = {TierMode.VOLUME: 3_000, TierMode.MARGINAL: 1_000 + 2_500}[mode]
        assert policy.quote(usd(60_000), 1).service_fee == usd(expected)

    def test_tiers_add_to_the_other_components(self) -> None:
        policy = FeePolicy(percent_bps=100, fixed=usd(10), tiers=self.TIERS)
        assert policy.quote(usd(5_000), 1).service_fee == usd(50 + 10 + 530)


@pytest.mark.parametrize(
    ("price", "percent_bps", "fee"),
    [
        (Money(1250, "kwd"), 250, 30),  # 31.25 fils → 31 → 30
        (Money(3000, "kwd"), 150, 50),  # 45 fils → 50: half-up to the step as well
        (Money(1450, "kwd"), 100, 20),  # 14.5 → 15 → 20: rounded once to the fils, then to 10
        (Money(1500, "jpy"), 350, 53),  # 52.5 yen → 53
        (Money(1020, "usd"), 250, 26),  # 25.5 cents → 26
        (Money(1010, "usd"), 250, 25),  # 25.25 cents → 25
        (Money(150_000, "isk"), 150, 2_300),  # 22.50 kr → whole krónur: 23 kr
    ],
)
def test_rounding_is_half_up_then_to_the_step_stripe_accepts(
    price: Money, percent_bps: int, fee: int
) -> None:
    quote = FeePolicy(percent_bps=percent_bps).quote(price, 1)
    assert quote.service_fee == Money(fee, price.currency)


def test_caps_apply_after_rounding_and_in_the_step() -> None:
    policy = FeePolicy(percent_bps=500, minimum=Money(500, "kwd"), maximum=Money(2000, "kwd"))
    assert policy.quote(Money(1000, "kwd"), 1).service_fee == Money(500, "kwd")
    assert policy.quote(Money(100_000, "kwd"), 1).service_fee == Money(2000, "kwd")
