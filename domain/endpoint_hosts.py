"""Where events out may be sent: the host of an endpoint URL, and the addresses it may reach.

Two rules, used at registration (domain/events.py `endpoint_url`) and again by the sender
at every connection (adapters/outbound), so an endpoint cannot probe the internal network:

- a host is a proper DNS name (RFC 1123 labels, `_` too, a top-level label that is not all digits,
  RFC 3696 §2) or a canonical IP literal (dotted-quad IPv4 without leading zeros, or IPv6
  in brackets). `2130706433`, `0x7f.1`, `0177.0.0.1` and `127.1` are refused: resolvers and
  HTTP clients read them as 127.0.0.1, so they would smuggle a loopback address past a check
  that only recognises canonical literals;
- an address is public when it is globally routable AND any IPv4 address embedded in it
  is too: IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96) addresses, NAT64
  (64:ff9b::/96, RFC 6052), 6to4 (2002::/16, RFC 3056) and Teredo (2001::/32, RFC 4380,
  its server and its client) and IPv4-translated (::ffff:0:0:0/96, RFC 6145) reach the IPv4
  address they carry. The local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215), the deprecated
  site-local fec0::/10 (RFC 3879: still routed inside some sites) and multicast are never
  public.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally (IPv6 with or without brackets); None for a name.
    Only canonical literals count: `127.1` is not an address here (see `is_proper_host`)."""
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def is_proper_host(host: str) -> bool:
    """A DNS name of RFC 1123 labels (IDNA-encoded when not ASCII; `_` allowed, as
    resolvers allow it) whose last label is not all digits, or a canonical IP literal.
    Hex, octal, dotted-less or short IPv4 forms, IPv6 zone ids and empty labels are not
    proper hosts."""
    host = host.lower()
    if ip_literal(host) is not None:
        return "%" not in host
    name = host.removesuffix(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        return False
    return not labels[-1].isdigit() and not _looks_numeric(labels)


def _looks_numeric(labels: list[str]) -> bool:
    """Every label a number in some base (`0x7f.0.0.1`): what inet_aton reads as IPv4."""
    return all(re.fullmatch(r"0x[0-9a-f]*|[0-9]+", label) for label in labels)


def embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address reaches through a transition mechanism."""
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if (
        address in _NAT64
        or address in _IPV4_TRANSLATED
        or (address in _IPV4_COMPATIBLE and int(address) > 1)
    ):
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo
    return ()


def is_public_address(address: IPAddress) -> bool:
    """Globally routable, not multicast, and so is every IPv4 address it embeds."""
    if address.is_multicast or (
        isinstance(address, ipaddress.IPv6Address)
        and (address in _NAT64_LOCAL or address.is_site_local)
    ):
        return False
    embedded = embedded_ipv4(address)
    if embedded:
        # NAT64 and the like are not "global" to Python, yet reach the IPv4 they carry.
        return all(is_public_address(v4) for v4 in embedded)
    return address.is_global


def is_public_host(host: str) -> bool:
    """A name (resolved, and checked again, when delivering) or a public IP literal;
    False for localhost names and for any literal that is not public."""
    host = host.lower().removesuffix(".")
    if host == "localhost" or host.endswith(".localhost"):
        return False
    address = ip_literal(host)
    return address is None or is_public_address(address)
