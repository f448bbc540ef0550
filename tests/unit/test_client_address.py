"""Issue 14, second review: whom a per-address limit counts.

One IPv6 subscriber is routed a whole /64 and may pick a new address in it for every
request: counted address by address, it escaped every per-address limit.
"""

from __future__ import annotations

from typing import Any

import pytest

from entrypoints.http.throttling import client_address


def scope(host: str | None) -> Any:
    return {"type": "http", "client": None if host is None else (host, 50000)}


@pytest.mark.parametrize(
    ("host", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:9", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("::1", "::/64"),
        ("testclient", "testclient"),
    ],
)
def test_ipv6_clients_are_counted_by_their_64_and_ipv4_by_the_address(
    host: str, counted_as: str
) -> None:
    assert client_address(scope(host)) == counted_as


def test_two_addresses_of_one_64_are_one_client_and_neighbours_are_not() -> None:
    one = client_address(scope("2001:db8:1:2::a"))
    assert client_address(scope("2001:db8:1:2:9:8:7:6")) == one
    assert client_address(scope("2001:db8:1:3::a")) != one
    assert client_address(scope("203.0.113.8")) != client_address(scope("203.0.113.7"))


def test_a_request_without_a_client_is_unknown() -> None:
    assert client_address(scope(None)) == "unknown"
