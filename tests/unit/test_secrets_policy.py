"""The secrets policy with real Stripe (review of issue 14, finding 12): length is not
enough; a key of one repeated character or a secret that is only its prefix is refused."""

import os

import pytest

from entrypoints.config import ConfigurationError, Settings, load_settings
from tests.unit.test_config import STRIPE


def _load(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """Settings from exactly these variables: every other BOOKPAY_* one is unset."""
    for name in list(os.environ):
        if name.startswith("BOOKPAY_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOOKPAY_ADMIN_API_KEY", "a" * 32),
        ("BOOKPAY_ADMIN_API_KEY", "ab" * 40),
        ("BOOKPAY_STRIPE_WEBHOOK_SECRET", "whsec_"),
        ("BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET", "whsec_aaaaaaaa"),
        ("BOOKPAY_STRIPE_SECRET_KEY", "sk_x"),
        ("BOOKPAY_STRIPE_SECRET_KEY", "rk_"),
    ],
)
def test_a_secret_of_no_variety_is_refused(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match=name) as refused:
        _load(monkeypatch, STRIPE | {name: value})
    if len(value) > len("whsec_"):  # the message may name the prefix, never the secret
        assert value not in str(refused.value)


def test_secrets_such_as_stripe_issues_them_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    realistic = {
        "BOOKPAY_STRIPE_SECRET_KEY": "sk_live_51H8xQeK2cJtYv0aB9mN3pL7r",
        "BOOKPAY_STRIPE_WEBHOOK_SECRET": "whsec_8fJ2kLq9ZxW4nT6vB1mC3dR5",
        "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_Q7wE1rT9yU3iO5pA2sD4fG6h",
        "BOOKPAY_ADMIN_API_KEY": "bp_admin_Zk3N8qW2xR7vL1cT5mY9pB4sD6f",
    }
    _load(monkeypatch, STRIPE | realistic)
