"""The analysts' notation in the features, read in one place for every step module.

Money is written as people write it — "20.00 USD", "1500 JPY", "1.250 KWD" — and read
into minor units by the currency's exponent, with Decimal and never a float. Rates are
percentages ("2.5%") or basis points ("250 bps"); a fee reads "5% + 0.30 USD"; a
cancellation policy reads "48 h: 100%; 24 h: 50%"; a duration "24 hours 1 minute".
Every reader raises ValueError, naming the expected notation, on text it cannot read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.fees import FeeBearer, Tier
from domain.money import Money, exponent

NONE_WORDS = frozenset({"none", "-", "no", ""})


def parse_money(text: str) -> Money:
    """Read "20.00 USD" as Money(2000, "usd"); refuse more decimals than the currency has."""
    number, _, code = text.strip().rpartition(" ")
    if not number:
        raise ValueError(
            f"write money as an amount and a currency code, e.g. '20.00 USD': {text!r}"
        )
    return Money(_minor_units(number, code, text), code)


def parse_amount(text: str, currency: str) -> Money:
    """An amount with its own currency ("0.30 EUR"), or in `currency` when it has none."""
    text = text.strip()
    if " " in text:
        return parse_money(text)
    return Money(_minor_units(text, currency, text), currency)


def _minor_units(number: str, currency: str, original: str) -> int:
    try:
        minor = Decimal(number).scaleb(exponent(currency))
    except InvalidOperation:
        raise ValueError(f"not an amount: {original!r}") from None
    if minor != minor.to_integral_value():
        raise ValueError(
            f"{original!r} has more decimal places than {currency.upper()} has "
            f"({exponent(currency)})"
        )
    return int(minor)


def parse_bps(text: str) -> int:
    """Read "2.5%" as 250 basis points, and "250 bps" as 250; "none" is 0."""
    text = text.strip()
    if text.lower() in NONE_WORDS:
        return 0
    if text.endswith("bps"):
        return int(text.removesuffix("bps"))
    if text.endswith("%"):
        bps = Decimal(text.removesuffix("%")) * 100
        if bps != bps.to_integral_value():
            raise ValueError(f"{text!r} is finer than a basis point")
        return int(bps)
    raise ValueError(
        f"write a rate as a percentage ('2.5%') or in basis points ('250 bps'): {text!r}"
    )


def parse_bearer(text: str) -> FeeBearer:
    """Read "customer", "tenant", or "split 4000 bps" (the customer's share of the fee)."""
    text = text.strip().lower()
    if text == "customer":
        return FeeBearer.customer()
    if text == "tenant":
        return FeeBearer.tenant()
    split = re.fullmatch(r"split\s+(.+)", text)
    if split:
        return FeeBearer.split(parse_bps(split.group(1)))
    raise ValueError(f"the fee bearer is 'customer', 'tenant' or 'split <bps>': {text!r}")


_TIER = re.compile(r"(?:up to (?P<up_to>[^:]+)|above):\s*(?P<rate>.+)")


def parse_tiers(text: str, currency: str) -> tuple[Tier, ...]:
    """Read "up to 100.00: 10% + 0.30; above: 5%" as two tiers in `currency`.

    A rate is a percentage, a fixed amount, or both joined with "+".
    """
    tiers = []
    for part in text.split(";"):
        match = _TIER.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"a tier reads 'up to 100.00: 10% + 0.30' or 'above: 5%': {part!r}")
        up_to = match.group("up_to")
        percent_bps, fixed = 0, None
        for term in match.group("rate").split("+"):
            term = term.strip()
            if term.endswith(("%", "bps")):
                percent_bps += parse_bps(term)
            else:
                fixed = parse_amount(term, currency)
        tiers.append(
            Tier(
                up_to=None if up_to is None else parse_amount(up_to, currency),
                percent_bps=percent_bps,
                fixed=fixed,
            )
        )
    return tuple(tiers)


def parse_moment(text: str) -> datetime:
    """Read "2026-03-01 10:00 UTC" as an aware datetime."""
    return datetime.strptime(text.strip().removesuffix("UTC").strip(), "%Y-%m-%d %H:%M").replace(
        tzinfo=UTC
    )


_DURATION_PART = re.compile(
    r"(?P<count>\d+(?:\.\d+)?)\s*(?P<unit>hours?|h|minutes?|min|seconds?|s)"
)


def parse_duration(text: str) -> timedelta:
    """Read "24 hours 1 minute", "30 minutes" or "-1 h" as a timedelta."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    total = timedelta(0)
    rest = text.lstrip("-").strip()
    for part in re.split(r"\s+and\s+|,\s*|\s+(?=\d)", rest):
        match = _DURATION_PART.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"not a duration: {text!r}")
        count = Decimal(match.group("count"))
        unit = match.group("unit")[0]
        seconds = count * {"h": 3600, "m": 60, "s": 1}[unit]
        total += timedelta(seconds=int(seconds))
    return sign * total


def status_name(text: str) -> str:
    """Read "pending payment" (or "pending_payment") as a BookingStatus value."""
    return text.strip().lower().replace(" ", "_")


def money_json(text: str) -> dict[str, Any]:
    """ "20.00 USD" as the API's money object: {"amount": 2000, "currency": "usd"}."""
    money = parse_money(text)
    return {"amount": money.amount, "currency": money.currency}


def parse_signed_money(text: str) -> Money:
    """Read "-15.00 USD" as Money(-1500, "usd"), and "15.00 USD" as Money(1500, "usd")."""
    text = text.strip()
    if text.startswith("-"):
        money = parse_money(text[1:])
        return Money(-money.amount, money.currency)
    return parse_money(text)


@dataclass(frozen=True)
class FeeText:
    """A platform fee as written: "5% + 0.30 USD", "10% + 0 JPY", "5%", or with another
    currency's fixed part: "5% + 0.30 USD, or + 0.25 EUR in EUR"."""

    percent_bps: int
    fixed: Money | None = None
    other_fixed: Money | None = None

    def as_json(self) -> dict[str, Any]:
        """The fee policy object of API.md (without the bearer)."""
        policy: dict[str, Any] = {"percent_bps": self.percent_bps}
        if self.fixed is not None:
            policy["fixed"] = {"amount": self.fixed.amount, "currency": self.fixed.currency}
        if self.other_fixed is not None:
            other = {"amount": self.other_fixed.amount, "currency": self.other_fixed.currency}
            policy["by_currency"] = {self.other_fixed.currency: {"fixed": other}}
        return policy


_FEE = re.compile(
    r"(?P<rate>\d+(?:\.\d+)?%)"
    r"(?: \+ (?P<fixed>\d+(?:\.\d+)? [A-Za-z]{3}))?"
    r"(?:, or \+ (?P<other>\d+(?:\.\d+)? [A-Za-z]{3}) in [A-Za-z]{3})?"
)


def parse_fee(text: str) -> FeeText:
    """Read "5% + 0.30 USD" (a percentage, and optionally a fixed amount per booking)."""
    match = _FEE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"write a fee like '5% + 0.30 USD' or '5%', not {text!r}")
    return FeeText(
        percent_bps=parse_bps(match["rate"]),
        fixed=parse_money(match["fixed"]) if match["fixed"] else None,
        other_fixed=parse_money(match["other"]) if match["other"] else None,
    )


_WINDOW = re.compile(r"(?P<hours>-?\d+)\s*h(?:ours?)?:\s*(?P<percent>\d+)\s*%")


def parse_windows(text: str) -> list[tuple[int, int]]:
    """Read the cancellation policy "48 h: 100%; 24 h: 50%" as [(48, 100), (24, 50)]:
    hours before the start, and the percentage refunded; "none" is no window."""
    if text.strip().lower() in NONE_WORDS:
        return []
    windows = []
    for part in text.split(";"):
        match = _WINDOW.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"a window reads '48 h: 100%', not {part!r}")
        windows.append((int(match["hours"]), int(match["percent"])))
    return windows


def windows_json(text: str) -> dict[str, Any] | None:
    """The cancellation policy object of API.md, or None for "none"."""
    windows = parse_windows(text)
    if not windows:
        return None
    return {
        "windows": [
            {"hours_before": hours, "refund_percent": percent} for hours, percent in windows
        ]
    }


def parse_percent(text: str) -> int:
    """Read "50%" as 50."""
    return int(text.strip().removesuffix("%"))
