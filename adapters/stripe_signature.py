"""Stripe's webhook signing scheme, shared by the Stripe gateway and the fake that imitates it.

`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; a header may
carry several `v1` signatures (while a secret is being rolled) and other schemes, which are
ignored. A signature older than the tolerance is refused, so a captured request
cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from application.errors import InvalidWebhookSignature

DEFAULT_TOLERANCE_SECONDS = 300
SCHEME = "v1"


def compute_signature(payload: bytes, timestamp: int, secret: str) -> str:
    signed = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, now: datetime) -> str:
    """The `Stripe-Signature` header value Stripe would send with this body at `now`."""
    timestamp = int(now.timestamp())
    return f"t={timestamp},{SCHEME}={compute_signature(payload, timestamp, secret)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidWebhookSignature("the signature timestamp is not a number") from None
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise InvalidWebhookSignature("the signature header has no timestamp")
    if not signatures:
        raise InvalidWebhookSignature(f"the signature header has no {SCHEME} signature")
    return timestamp, signatures


def verify(
    payload: bytes,
    header: str | None,
    secret: str,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check the header against the raw body; returns the signed timestamp.

    Raises InvalidWebhookSignature when the header is missing or malformed, no `v1`
    signature matches, or the timestamp is more than `tolerance_seconds` before `now`
    (like Stripe's own libraries, a timestamp slightly ahead of our clock is accepted).
    """
    if not header:
        raise InvalidWebhookSignature("the Stripe-Signature header is missing")
    if not secret:
        raise InvalidWebhookSignature("no signing secret is configured for this endpoint")
    timestamp, signatures = _parse_header(header)
    expected = compute_signature(payload, timestamp, secret)
    # Compare every candidate, without stopping early, in constant time.
    matches = [
        hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in signatures
    ]
    if not any(matches):
        raise InvalidWebhookSignature("no signature matches the payload")
    if timestamp < int(now.timestamp()) - tolerance_seconds:
        raise InvalidWebhookSignature("the signature is older than the tolerance")
    return timestamp
