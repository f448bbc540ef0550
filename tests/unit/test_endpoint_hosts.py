"""Which hosts an endpoint may name, and which addresses events may reach (issue 17): the
private-address guard judges the IPv4 address inside every IPv6 transition address, and
refuses the numeric host forms resolvers read as an address."""

from __future__ import annotations

import ipaddress

import pytest

from domain.endpoint_hosts import is_proper_host, is_public_address
from domain.events import InvalidEndpoint, endpoint_url


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",  # 127.0.0.1 as one number
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://127.0.1/",
        "https://017700000001/",
        "https://1.2.3.4.5/",
        "https://hooks..example.com/",
        "https://-hooks.example.com/",
        "https://[fe80::1%25eth0]/",
    ],
)
def test_a_host_that_is_neither_a_dns_name_nor_a_canonical_address_is_refused(url: str) -> None:
    with pytest.raises(InvalidEndpoint, match="DNS name or a canonical IP"):
        endpoint_url(url, allow_private=True)  # refused even where loopback is allowed


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/bookpay?token=x",
        "https://hooks.example.com./",
        "https://xn--bcher-kva.example/",
        "https://bücher.example/",
        "https://8.8.8.8/",
        "https://[2606:4700:4700::1111]/",
        "https://1a.example.com/",
    ],
)
def test_proper_public_hosts_are_accepted(url: str) -> None:
    assert endpoint_url(url) == url


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:c0a8:0101::1",  # 6to4 of 192.168.1.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "::ffff:0:7f00:1",  # IPv4-translated (RFC 6145) 127.0.0.1
        "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
        "fec0::1",  # deprecated site-local (RFC 3879)
        "feff::1",
        "ff02::1",
        "fc00::1",
        "fe80::1",
        "127.0.0.1",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to judge, not one bound
    ],
)
def test_an_address_embedding_a_private_ipv4_is_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2606:4700::1"]
)
def test_an_address_embedding_a_public_ipv4_is_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://[64:ff9b::7f00:1]/",
        "https://[2002:a9fe:a9fe::]/",
        "https://[::a00:1]/",
        "https://[::ffff:0:7f00:1]/",
        "https://[fec0::1]/",
    ],
)
def test_registration_judges_the_ipv4_inside_an_ipv6_literal(url: str) -> None:
    with pytest.raises(InvalidEndpoint, match="private or loopback"):
        endpoint_url(url)


def test_a_numeric_top_label_is_not_a_name() -> None:
    assert is_proper_host("hooks.example.com")
    assert not is_proper_host("hooks.example.123")
    assert not is_proper_host("a" * 64 + ".example.com")


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/a\r\nX-Injected: 1",
        "https://exa\tmple.com/",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\x00",
        "https://hooks.example.com/\x7f",
        "https://hooks.example.com/\u200b",  # zero-width space
        "https://hooks.example.com/\u00a0",  # no-break space
        "\nhttps://hooks.example.com/",
        "https://hooks.example.com/ ",
    ],
)
def test_a_url_with_control_characters_or_whitespace_is_refused(url: str) -> None:
    """urlsplit strips tabs and newlines before the host is judged, so the stored string
    would differ from the URL checked, and could never be sent."""
    with pytest.raises(InvalidEndpoint, match="control characters or whitespace"):
        endpoint_url(url, allow_private=True)


def test_an_ipv4_translated_address_is_judged_by_its_ipv4() -> None:
    assert is_public_address(ipaddress.ip_address("::ffff:0:808:808"))
