"""The load generator's checkout source: loads on the same shop never share a customer.

A customer may hold at most 5 unpaid checkouts (domain rule, 409 beyond), so a sixth load
whose emails repeated the first five's was refused almost whole (bench before/after,
round 6)."""

from __future__ import annotations

import json

from bench.loadgen import CheckoutSource


def _emails(source: CheckoutSource, count: int) -> set[str]:
    emails = set()
    for _ in range(count):
        request = source.next_request()
        assert request is not None
        body = request.split(b"\r\n\r\n", 1)[1]
        emails.add(json.loads(body)["customer"]["email"])
    return emails


def test_each_checkout_of_a_load_is_by_another_customer() -> None:
    source = CheckoutSource(port=1, slug="shop", slot_ids=["s1"])

    assert len(_emails(source, 50)) == 50


def test_two_loads_on_the_same_shop_share_no_customer() -> None:
    first = CheckoutSource(port=1, slug="shop", slot_ids=["s1"])
    second = CheckoutSource(port=1, slug="shop", slot_ids=["s1"])

    assert not _emails(first, 20) & _emails(second, 20)
