"""API keys and booking tokens: random, shown once, stored only as a hash."""

import hashlib
import hmac
import secrets as _random

API_KEY_PREFIX = "bp_tenant_"


def new_api_key() -> str:
    return API_KEY_PREFIX + _random.token_urlsafe(32)


def new_booking_token() -> str:
    return _random.token_urlsafe(24)


def hash_secret(secret: str) -> str:
    """A stable hash to look a secret up by; the secrets are random, so SHA-256 suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    if stored_hash is None:
        return False
    return hmac.compare_digest(hash_secret(secret), stored_hash)
