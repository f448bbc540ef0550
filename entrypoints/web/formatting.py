"""Amounts and dates for the customer's locale (Accept-Language), with Babel.

Money stays integer minor units everywhere else; only here does it become text, with the
currency's own exponent (¥3,000; KWD 26.530). Times are shown on the tenant's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from babel.numbers import format_currency

from domain.money import Money, exponent

DEFAULT_LOCALE = Locale("en", "US")
_CODE_BEFORE_DIGIT = re.compile(r"([A-Za-z]{2,})(?=\d)")
_DIGIT_BEFORE_CODE = re.compile(r"(?<=\d)([A-Za-z]{2,})")
# A header longer than this many language ranges is read only this far.
MAX_LANGUAGE_RANGES = 12


def language_ranges(accept_language: str | None) -> list[str]:
    """The header's language tags, best first (by quality, then order); none of `*` or q=0."""
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:MAX_LANGUAGE_RANGES]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranges.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranges)]


def customer_locale(accept_language: str | None) -> Locale:
    """The first locale Babel knows among the header's ranges, by quality; en_US else."""
    for tag in language_ranges(accept_language):
        try:
            return Locale.parse(tag.replace("_", "-"), sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Formats:
    """Formatting for one customer (locale) on one tenant's clock (IANA timezone)."""

    locale: Locale
    timezone: str

    def money(self, money: Money) -> str:
        major = Decimal(money.amount).scaleb(-exponent(money.currency))
        text = format_currency(major, money.currency.upper(), locale=self.locale)
        # CLDR's currency spacing, which Babel leaves out: a code of letters never touches
        # the digits ("KWD 26.530", not "KWD26.530"); symbols such as ¥ and $ do.
        return _CODE_BEFORE_DIGIT.sub("\\1\xa0", _DIGIT_BEFORE_CODE.sub("\xa0\\1", text))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.timezone))

    def day(self, moment: datetime | date) -> str:
        shown = self.local(moment).date() if isinstance(moment, datetime) else moment
        return format_date(shown, format="full", locale=self.locale)

    def time(self, moment: datetime) -> str:
        return format_time(self.local(moment), format="short", locale=self.locale)

    def when(self, moment: datetime) -> str:
        """Day, time and the timezone's name, e.g. "Tuesday, December 1, 2026, 9:00 AM
        (Eastern Time)"."""
        # The locale's own way to join a date and a time ("{1}, {0}", "{1} 'at' {0}", …).
        joined = str(get_datetime_format("full", locale=self.locale)).replace("'", "")
        return f"{joined.format(self.time(moment), self.day(moment))} ({self.zone_name()})"

    def zone_name(self) -> str:
        return get_timezone_name(ZoneInfo(self.timezone), width="long", locale=self.locale)
