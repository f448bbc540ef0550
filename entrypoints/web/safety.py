"""What keeps the hosted pages safe: the booking cookie, CSRF, the Content Security Policy.

- The booking token arrives once in a URL (the checkout's return); it is exchanged for an
  HttpOnly, SameSite=Lax cookie scoped to that booking's pages and dropped from the URL,
  so it stays out of history, logs and Referer headers. Lax, because the customer comes
  back from the hosted checkout by a top-level navigation from another site.
- Forms carry a double-submit CSRF token (Litestar's CSRF middleware, on the pages only:
  the JSON API authenticates with bearer keys, not cookies).
- `default-src 'self'`: no script, style or font from anywhere else; `frame-ancestors`
  lists the hosts customers may be sent back to, so the platform can embed the pages.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from urllib.parse import urlsplit

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie

from domain.return_urls import LOCAL_HOSTS

BOOKING_COOKIE_PREFIX = "bookpay_booking_"


def booking_path(booking_id: str) -> str:
    return f"/booking/{booking_id}"


def booking_cookie_name(booking_id: str) -> str:
    return BOOKING_COOKIE_PREFIX + booking_id


def booking_cookie(booking_id: str, token: str, *, secure: bool) -> Cookie:
    """The booking token as a cookie sent only to that booking's own pages."""
    return Cookie(
        key=booking_cookie_name(booking_id),
        value=token,
        path=booking_path(booking_id),
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=60 * 60 * 24 * 400,
    )


def is_https(public_base_url: str) -> bool:
    return urlsplit(public_base_url).scheme == "https"


def content_security_policy(return_hosts: Collection[str]) -> str:
    """`default-src 'self'`, and framing allowed on the allowed return hosts (any port)."""
    ancestors = ["'self'"]
    for host in sorted(return_hosts):
        shown = f"[{host}]" if ":" in host else host
        ancestors.append(f"https://{shown}:*")
        if host in LOCAL_HOSTS:
            ancestors.append(f"http://{shown}:*")
    return f"default-src 'self'; frame-ancestors {' '.join(ancestors)}; base-uri 'none'"


def csrf_config(secret_seed: str | None, *, secure: bool) -> CSRFConfig:
    """Every process derives the same CSRF secret from the configured admin key (so a
    form served by one worker posts to another); without one, a secret of this process."""
    secret = (
        hashlib.sha256(b"bookpay pages csrf\0" + secret_seed.encode()).hexdigest()
        if secret_seed
        else secrets.token_hex(32)
    )
    return CSRFConfig(
        secret=secret,
        cookie_name="bookpay_csrf",
        cookie_path="/",
        cookie_secure=secure,
        cookie_httponly=True,
        # Over https the forms work inside the platform's iframe too (a cross-site frame
        # gets no Lax cookie); the token in the form still has to match it.
        cookie_samesite="none" if secure else "lax",
    )


def form_secret(secret_seed: str | None) -> bytes:
    """The key of the booking tokens derived from a form's one-time id: every process
    derives the same one from the configured admin key; without one, one of this process."""
    if secret_seed:
        return hashlib.sha256(b"bookpay pages form\0" + secret_seed.encode()).digest()
    return secrets.token_bytes(32)
