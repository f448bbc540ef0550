"""Configuration from BOOKPAY_* variables: real Stripe never starts without its secrets."""

import pytest

from entrypoints.config import ConfigurationError, GatewayKind, Settings

STRIPE = {
    "BOOKPAY_GATEWAY": "stripe",
    "BOOKPAY_STRIPE_SECRET_KEY": "sk_test_123",
    "BOOKPAY_STRIPE_WEBHOOK_SECRET": "whsec_platform",
    "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect",
    "BOOKPAY_ADMIN_API_KEY": "admin-key",
}


def test_the_fake_gateway_is_the_default_without_a_stripe_key() -> None:
    settings = Settings.from_env({})
    assert settings.gateway is GatewayKind.FAKE
    assert settings.admin_api_key is None
    assert settings.hold_minutes == 30


def test_a_stripe_key_selects_stripe_by_default() -> None:
    assert Settings.from_env(STRIPE | {"BOOKPAY_GATEWAY": ""}).gateway is GatewayKind.STRIPE


@pytest.mark.parametrize(
    "missing",
    [
        "BOOKPAY_STRIPE_SECRET_KEY",
        "BOOKPAY_STRIPE_WEBHOOK_SECRET",
        "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET",
        "BOOKPAY_ADMIN_API_KEY",
    ],
)
def test_stripe_refuses_to_start_without_each_secret(missing: str) -> None:
    env = {k: v for k, v in STRIPE.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env(env)


def test_with_every_secret_stripe_starts_and_nothing_is_generated() -> None:
    settings = Settings.from_env(STRIPE)
    same, generated = settings.with_generated_secrets()
    assert same == settings
    assert generated == {}


def test_fake_mode_generates_an_admin_key_and_secrets_never_a_fixed_default() -> None:
    first, generated = Settings.from_env({}).with_generated_secrets()
    second, _ = Settings.from_env({}).with_generated_secrets()
    assert first.admin_api_key
    assert first.admin_api_key != second.admin_api_key
    assert generated["BOOKPAY_ADMIN_API_KEY"] == first.admin_api_key
    assert first.stripe_webhook_secret != first.stripe_connect_webhook_secret


def test_secrets_are_not_in_the_settings_repr() -> None:
    text = repr(Settings.from_env(STRIPE))
    for secret in ("sk_test_123", "whsec_platform", "whsec_connect", "admin-key"):
        assert secret not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOOKPAY_GATEWAY", "paypal"),
        ("BOOKPAY_HOLD_MINUTES", "5"),
        ("BOOKPAY_HOLD_MINUTES", "thirty"),
        ("BOOKPAY_SWEEP_SECONDS", "-1"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})
