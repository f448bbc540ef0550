"""How weak a secret may not be when real money moves (BOOKPAY_GATEWAY=stripe).

Length alone lets through an admin key of 32 times the same character or a webhook secret
that is only Stripe's `whsec_` prefix; these rules ask for some variety too. Each answer
names what is wrong, never the value.
"""

from __future__ import annotations

MIN_ADMIN_KEY_LENGTH = 32
# A random key of 32 characters from any usual alphabet has far more; a typed pattern less.
MIN_DISTINCT_ADMIN_KEY_CHARACTERS = 8
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix, not a secret
MIN_WEBHOOK_SECRET_BODY = 6
MIN_DISTINCT_WEBHOOK_SECRET_CHARACTERS = 4
MIN_STRIPE_KEY_BODY = 6


def admin_key_weakness(key: str) -> str | None:
    """Why `key` is too weak to be the admin key, or None."""
    if len(key) < MIN_ADMIN_KEY_LENGTH:
        return f"must be at least {MIN_ADMIN_KEY_LENGTH} characters"
    if len(set(key)) < MIN_DISTINCT_ADMIN_KEY_CHARACTERS:
        return f"must use at least {MIN_DISTINCT_ADMIN_KEY_CHARACTERS} different characters"
    return None


def webhook_secret_weakness(secret: str) -> str | None:
    """Why `secret` is not a plausible Stripe webhook signing secret, or None."""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return f"must be a webhook signing secret ({WEBHOOK_SECRET_PREFIX}…)"
    body = secret.removeprefix(WEBHOOK_SECRET_PREFIX)
    if (
        len(body) < MIN_WEBHOOK_SECRET_BODY
        or len(set(body)) < MIN_DISTINCT_WEBHOOK_SECRET_CHARACTERS
    ):
        return f"must be the whole signing secret Stripe shows, not only {WEBHOOK_SECRET_PREFIX}"
    return None


def stripe_key_weakness(key: str) -> str | None:
    """Why `key` is not a plausible Stripe secret or restricted key, or None."""
    if not key.startswith(("sk_", "rk_")):
        return "must be a secret key (sk_… or rk_…)"
    if len(key) - len("sk_") < MIN_STRIPE_KEY_BODY:
        return "must be the whole key Stripe shows, not only its prefix"
    return None
