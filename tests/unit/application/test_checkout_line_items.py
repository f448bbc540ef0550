"""The checkout's line item says what is bought, when (on the tenant's clock) and from
whom (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime

from application.start_checkout import line_items, slot_label
from domain.fees import FeePolicy
from domain.money import Money
from domain.offering import Offering
from domain.tenant import Tenant


def test_the_line_item_names_the_slot_in_the_tenants_timezone_and_the_business() -> None:
    offering = Offering("of_1", "tn_1", "Morning yoga", Money(2000, "usd"), 60, 10)
    tenant = Tenant("tn_1", "Demo Studio", "demo", "US", "usd", "America/New_York")
    quote = FeePolicy(percent_bps=500).quote(offering.price, 2)

    lines = line_items(offering, quote, tenant, datetime(2026, 12, 1, 14, 0, tzinfo=UTC))

    assert lines[0].name == "Morning yoga · Tue 1 Dec 2026, 09:00 EST · Demo Studio"
    assert lines[0].quantity == 2
    assert [line.name for line in lines[1:]] == ["Service fee"]


def test_summer_time_is_named_as_such() -> None:
    assert slot_label(datetime(2026, 7, 1, 8, 30, tzinfo=UTC), "Europe/Berlin") == (
        "Wed 1 Jul 2026, 10:30 CEST"
    )
