"""The hosted pages' words for money, dates and safety headers (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.money import Money
from entrypoints.web.formatting import Formats, customer_locale
from entrypoints.web.safety import content_security_policy

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en_US"),
        ("", "en_US"),
        ("de-DE,de;q=0.9,en;q=0.8", "de_DE"),
        ("fr;q=0.3, ja;q=0.9", "ja"),
        ("xx-YY, en-GB;q=0.5", "en_GB"),
        ("*", "en_US"),
        ("de;q=0, fr;q=1", "fr"),
        ("de;q=notanumber, fr", "fr"),
        (",,;;q=,", "en_US"),
    ],
)
def test_the_customer_locale_is_the_first_known_one_by_quality(
    header: str | None, expected: str
) -> None:
    assert str(customer_locale(header)) == expected


@pytest.mark.parametrize(
    ("money", "locale", "shown"),
    [
        (Money(3000, "jpy"), "en-US", "¥3,000"),
        (Money(26530, "kwd"), "en-US", f"KWD{NBSP}26.530"),
        (Money(4230, "usd"), "en-US", "$42.30"),
        (Money(4230, "eur"), "de-DE", f"42,30{NBSP}€"),
        (Money(26530, "kwd"), "de-DE", f"26,530{NBSP}KWD"),
    ],
)
def test_amounts_use_the_currency_exponent_and_the_customer_locale(
    money: Money, locale: str, shown: str
) -> None:
    assert Formats(customer_locale(locale), "UTC").money(money) == shown


def test_times_are_shown_on_the_tenants_clock() -> None:
    f = Formats(customer_locale("en-US"), "America/New_York")
    start = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    assert f.day(start) == "Tuesday, December 1, 2026"
    assert f.time(start).replace("\u202f", " ") == "9:00 AM"
    assert "Eastern" in f.when(start)


def test_the_pages_may_be_framed_only_by_the_allowed_return_hosts() -> None:
    policy = content_security_policy({"platform.example", "localhost", "::1"})

    assert policy.startswith("default-src 'self'; ")
    assert "https://platform.example:*" in policy
    assert "http://platform.example" not in policy
    assert "http://localhost:*" in policy
    assert "http://[::1]:*" in policy
