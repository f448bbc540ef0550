"""Stripe's webhook signing scheme, shared by the Stripe gateway and the fake that imitates it.

`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; a header may
carry several `v1` signatures (while a secret is being rolled) and other schemes, which are
ignored. Both sides come from the stripe SDK (STYLE.md 12): `sign` is its
`WebhookSignature.generate_signature_header`, `verify` its `WebhookSignature.verify_header`,
whose `SignatureVerificationError` becomes the port's InvalidWebhookSignature.

The time check stays ours: the SDK reads the system clock (`time.time()`, no parameter for
another) and refuses only timestamps older than the tolerance. So the SDK is called with
`tolerance=None` (the HMAC alone) and the timestamp is then read from the header and held
to our injectable clock, both ways: a captured request cannot be replayed later, and one
stamped years ahead cannot be kept for later either.
"""

from __future__ import annotations

from datetime import datetime

import stripe

from application.errors import InvalidWebhookSignature

DEFAULT_TOLERANCE_SECONDS = 300


def sign(payload: bytes, secret: str, now: datetime) -> str:
    """The `Stripe-Signature` header value Stripe would send with this body at `now`
    (the SDK's own signing, which Stripe documents for tests)."""
    # Stripe signs text: a body that is not UTF-8 raises UnicodeDecodeError.
    header: str = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), secret, timestamp=int(now.timestamp())
    )
    return header


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


def _sdk_refusal(error: stripe.SignatureVerificationError) -> InvalidWebhookSignature:
    reason = error.user_message or "refused"
    return InvalidWebhookSignature(
        f"the signature does not verify: {reason[:1].lower()}{reason[1:]}"
    )


def verify(
    payload: bytes,
    header: str | None,
    secret: str,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check the header against the raw body; returns the signed timestamp (unix seconds).

    The HMAC is the SDK's `verify_header` (without its time check); the tolerance is ours,
    against `now`. Raises InvalidWebhookSignature when the header is missing or malformed,
    no secret is configured, no `v1` signature matches, the body is not UTF-8 (Stripe signs
    text), or the timestamp is more than `tolerance_seconds` away from `now`, before or after.
    """
    if not header:
        raise InvalidWebhookSignature("the Stripe-Signature header is missing")
    if not header.isascii():  # the SDK's constant-time compare refuses other text by crashing
        raise InvalidWebhookSignature("the signature header is not ASCII")
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)
    except UnicodeDecodeError:
        raise InvalidWebhookSignature("the webhook body is not UTF-8 text") from None
    except stripe.SignatureVerificationError as error:
        raise _sdk_refusal(error) from None
    timestamp = _timestamp(header)
    if abs(timestamp - int(now.timestamp())) > tolerance_seconds:
        raise InvalidWebhookSignature("the signature timestamp is outside the tolerance")
    return timestamp
