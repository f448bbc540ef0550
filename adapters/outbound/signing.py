"""Standard Webhooks headers (https://www.standardwebhooks.com), made by its library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook


def signed_headers(
    message_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`: one
    `v1,<base64>` per secret, space-separated (the current secret first, then one being
    rotated out), so a receiver holding either secret verifies the delivery."""
    payload = body.decode()
    signatures = [Webhook(secret).sign(message_id, timestamp, payload) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
