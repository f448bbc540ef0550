"""Where Bookpay may send a customer or a tenant back to: never an open redirect."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from domain.errors import ReturnUrlNotAllowed

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def require_allowed_return_url(url: str, allowed_hosts: Collection[str]) -> str:
    """`url` unchanged when it is https (http only on localhost) on one of `allowed_hosts`
    (lower-case names, any port), with no user info, backslash or control character;
    ReturnUrlNotAllowed otherwise."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F or char == "\\" for char in url):
        raise ReturnUrlNotAllowed("a return URL must not contain control characters")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as error:
        raise ReturnUrlNotAllowed(f"{url!r} is not a valid URL") from error
    if "@" in parts.netloc:
        raise ReturnUrlNotAllowed("a return URL must not carry user information")
    if not (parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_HOSTS)):
        raise ReturnUrlNotAllowed("a return URL must use https (http only for localhost)")
    if host not in allowed_hosts:
        raise ReturnUrlNotAllowed(f"the host {host!r} is not on the return URL allow-list")
    return url
