"""Money: a whole number of a currency's minor units, never a float.

Currency facts follow Stripe's "Supported currencies" page (API version 2023-08-16):
zero-decimal currencies have exponent 0; BHD, JOD, KWD, OMR and TND have exponent 3 and
Stripe only accepts multiples of 10 of them; ISK is sent as a two-decimal currency whose
amounts must be whole krónur (multiples of 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from domain.errors import (
    AboveMaximumCharge,
    BelowMinimumCharge,
    CurrencyMismatch,
    InvalidAmount,
    UnknownCurrency,
)

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())
_TWO_DECIMAL = frozenset(
    """
    usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob brl bsd bwp
    byn bzd cad cdf chf cny cop crc cve czk dkk dop dzd egp etb eur fjd fkp gbp gel gip
    gmd gtq gyd hkd hnl htg huf idr ils inr isk jmd kes kgs khr kyd kzt lak lbp lkr lrd
    lsl mad mdl mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd pab pen
    pgk php pkr pln qar ron rsd sar sbd scr sek sgd shp sle sos srd std szl thb tjs top
    try ttd twd tzs uah uyu uzs wst xcd yer zar zmw
    """.split()
)
SUPPORTED_CURRENCIES = ZERO_DECIMAL | THREE_DECIMAL | _TWO_DECIMAL

# Amounts Stripe accepts must be multiples of these (in minor units).
_GRANULARITY = dict.fromkeys(THREE_DECIMAL, 10) | {"isk": 100}

# Stripe's minimum charge amount, in minor units, for the currencies it lists. For the
# others Stripe checks the equivalent of 0.50 USD in the settlement currency at charge
# time, which depends on an exchange rate; Bookpay then only refuses empty charges.
# The table of docs.stripe.com/currencies ("Minimum and maximum charge amounts"), checked
# on 2026-11-26 against several independent integrations that carry the same 24 rows.
MINIMUM_CHARGE = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
}

# Stripe's amount fields take at most eight digits in minor units, whatever the currency
# (the same page, "Minimum and maximum charge amounts"): 999,999.99 USD, 99,999,999 JPY.
MAXIMUM_CHARGE_DIGITS = 8


def normalize_currency(code: str) -> str:
    """The lowercase ISO-4217 code, or UnknownCurrency when Stripe does not support it."""
    if type(code) is str and code in SUPPORTED_CURRENCIES:
        return code  # already normalized: every amount read back from storage
    normalized = code.strip().lower() if isinstance(code, str) else ""
    if normalized not in SUPPORTED_CURRENCIES:
        raise UnknownCurrency(str(code))
    return normalized


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (JPY 0, USD 2, KWD 3)."""
    code = normalize_currency(currency)
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def granularity(currency: str) -> int:
    """The step, in minor units, that every amount sent to Stripe must be a multiple of."""
    return _GRANULARITY.get(normalize_currency(currency), 1)


def minimum_charge(currency: str) -> int:
    """Stripe's minimum charge in minor units (1 where Stripe names no fixed minimum)."""
    code = normalize_currency(currency)
    return MINIMUM_CHARGE.get(code, granularity(code))


def maximum_charge(currency: str) -> int:
    """Stripe's maximum charge in minor units: eight digits, down to the currency's step.

    99_999_999 for USD (999,999.99) and JPY; 99_999_990 for KWD (99,999.990).
    """
    step = granularity(currency)
    largest: int = 10**MAXIMUM_CHARGE_DIGITS - 1
    return largest // step * step


def round_half_up(value: Fraction | int, step: int = 1) -> int:
    """Round a non-negative exact value half-up to a multiple of `step` minor units."""
    if value < 0:
        raise InvalidAmount(f"cannot round a negative amount {value}")
    steps = Fraction(value) / step
    return int((steps + Fraction(1, 2)).__floor__()) * step


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency: Money(1999, "usd") is 19.99 USD."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidAmount(f"amount must be a whole number of minor units: {self.amount!r}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    def times(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise InvalidAmount(f"can only multiply money by a whole number: {factor!r}")
        return Money(self.amount * factor, self.currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    @property
    def exponent(self) -> int:
        return exponent(self.currency)

    @property
    def granularity(self) -> int:
        return granularity(self.currency)

    def is_chargeable_step(self) -> bool:
        """Whether Stripe accepts this amount as it stands (a multiple of its granularity)."""
        return self.amount % self.granularity == 0

    def require_chargeable_step(self) -> Money:
        if not self.is_chargeable_step():
            raise InvalidAmount(
                f"{self.currency} amounts must be multiples of {self.granularity} minor units "
                f"for Stripe; got {self.amount}"
            )
        return self

    def require_minimum_charge(self) -> Money:
        """Refuse a charge Stripe would refuse for being too small."""
        minimum = minimum_charge(self.currency)
        if self.amount < minimum:
            raise BelowMinimumCharge(self.amount, minimum, self.currency)
        return self

    def require_maximum_charge(self) -> Money:
        """Refuse a charge Stripe would refuse for being too large (AboveMaximumCharge)."""
        maximum = maximum_charge(self.currency)
        if self.amount > maximum:
            raise AboveMaximumCharge(
                self.amount,
                maximum,
                self.currency,
                readable=f"a charge of {self} is above the maximum of "
                f"{Money(maximum, self.currency)} that Stripe accepts in one payment",
            )
        return self

    def require_chargeable(self) -> Money:
        """Refuse a charge Stripe would refuse for its size: below its minimum or above
        its maximum for the currency (BelowMinimumCharge, AboveMaximumCharge)."""
        return self.require_minimum_charge().require_maximum_charge()

    def format(self) -> str:
        """Human-readable major units without floats: Money(1999, "usd") → "19.99 USD"."""
        places = self.exponent
        sign = "-" if self.amount < 0 else ""
        whole, part = divmod(abs(self.amount), 10**places)
        text = f"{whole}.{part:0{places}d}" if places else str(whole)
        return f"{sign}{text} {self.currency.upper()}"

    def __str__(self) -> str:
        return self.format()
