"""Stripe's webhook signing scheme, shared by the Stripe gateway and the fake that imitates it.

`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; a header may
carry several `v1` signatures (while a secret is being rolled) and other schemes, which are
ignored. The HMAC is signed and checked here exactly as the stripe SDK's `WebhookSignature`
does it (same parsing of the header, same refusals), with the standard library: importing
the SDK costs each server process memory (bench/findings.md), and with the fake gateway
nothing else needs it. The time check was always ours, because the SDK reads the system
clock and only refuses old timestamps: a signature more than the tolerance before or after
our clock is refused, so a captured request cannot be replayed later and one stamped years
ahead cannot be kept for later either.
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
    payload.decode()  # Stripe signs text: a body that is not UTF-8 raises UnicodeDecodeError
    timestamp = int(now.timestamp())
    return f"t={timestamp},{SCHEME}={compute_signature(payload, timestamp, secret)}"


def _check_hmac(payload: bytes, header: str, secret: str) -> None:
    """The stripe SDK's `WebhookSignature.verify_header` without its time check: the
    header's first item keyed exactly `t` is the timestamp, every item keyed `v1` a
    signature, and one of them must match the HMAC of "<t>.<body>" (compared in constant
    time). Raises UnicodeDecodeError for a body that is not UTF-8, InvalidWebhookSignature
    for the rest."""
    payload.decode()
    if secret.strip(" \t\r\n\f\v") == "":
        raise InvalidWebhookSignature("no signing secret is configured for this endpoint")
    items = [item.split("=", 2) for item in header.split(",")]
    try:
        # Every `t` item is read, as the SDK does: a bare `t` after a good one refuses.
        timestamp = int([item[1] for item in items if item[0] == "t"][0])  # noqa: RUF015
        signatures = [item[1] for item in items if item[0] == SCHEME]
    except (IndexError, ValueError):
        raise InvalidWebhookSignature(
            "the signature does not verify: unable to extract timestamp and signatures from header"
        ) from None
    if not signatures:
        raise InvalidWebhookSignature(
            f"the signature does not verify: no signatures found with expected scheme {SCHEME}"
        )
    expected = compute_signature(payload, timestamp, secret)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise InvalidWebhookSignature(
            "the signature does not verify: no signatures found matching the expected "
            "signature for payload"
        )


def _timestamp(header: str) -> int:
    """The header's one `t` item. Several are refused: the SDK checks the HMAC against the
    first item keyed exactly `t`, so a second one (spaced differently) could otherwise put a
    fresh time beside a captured signature and pass the tolerance (a replay)."""
    stamps = [
        value
        for key, _, value in (item.strip().partition("=") for item in header.split(","))
        if key == "t"
    ]
    if len(stamps) > 1:
        raise InvalidWebhookSignature("the signature header has more than one timestamp")
    try:
        return int(stamps[0])
    except (IndexError, ValueError):
        raise InvalidWebhookSignature("the signature header has no valid timestamp") from None


def verify(
    payload: bytes,
    header: str | None,
    secret: str,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check the header against the raw body; returns the signed timestamp (unix seconds).

    Raises InvalidWebhookSignature when the header is missing or malformed, no secret is
    configured, no `v1` signature matches, the body is not UTF-8 (Stripe signs text), or the
    timestamp is more than `tolerance_seconds` away from `now`, before or after.
    """
    if not header:
        raise InvalidWebhookSignature("the Stripe-Signature header is missing")
    if not secret:
        raise InvalidWebhookSignature("no signing secret is configured for this endpoint")
    if not header.isascii():  # the SDK's constant-time compare refuses other text by crashing
        raise InvalidWebhookSignature("the signature header is not ASCII")
    try:
        _check_hmac(payload, header, secret)
    except UnicodeDecodeError:
        raise InvalidWebhookSignature("the webhook body is not UTF-8 text") from None
    timestamp = _timestamp(header)
    if abs(timestamp - int(now.timestamp())) > tolerance_seconds:
        raise InvalidWebhookSignature("the signature timestamp is outside the tolerance")
    return timestamp
