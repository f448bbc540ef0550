"""Configuration from BOOKPAY_* variables: real Stripe never starts without its secrets."""

import pytest

from entrypoints.config import ConfigurationError, GatewayKind, Settings

STRIPE = {
    "BOOKPAY_GATEWAY": "stripe",
    "BOOKPAY_STRIPE_SECRET_KEY": "sk_test_123",
    "BOOKPAY_STRIPE_WEBHOOK_SECRET": "whsec_platform",
    "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect",
    "BOOKPAY_ADMIN_API_KEY": "admin-key-" + "k" * 32,
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
    for secret in (
        "sk_test_123",
        "whsec_platform",
        "whsec_connect",
        STRIPE["BOOKPAY_ADMIN_API_KEY"],
    ):
        assert secret not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOOKPAY_GATEWAY", "paypal"),
        ("BOOKPAY_HOLD_MINUTES", "5"),
        ("BOOKPAY_HOLD_MINUTES", "thirty"),
        ("BOOKPAY_SWEEP_SECONDS", "-1"),
        ("BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING", "0"),
        ("BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING", "ten"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"BOOKPAY_ADMIN_API_KEY": "x"}, "BOOKPAY_ADMIN_API_KEY"),
        ({"BOOKPAY_ADMIN_API_KEY": "k" * 31}, "BOOKPAY_ADMIN_API_KEY"),
        ({"BOOKPAY_STRIPE_WEBHOOK_SECRET": "platform"}, "BOOKPAY_STRIPE_WEBHOOK_SECRET"),
        (
            {"BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": "connect-plain"},
            "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET",
        ),
        (
            {"BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_platform"},
            "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET",
        ),
        ({"BOOKPAY_STRIPE_SECRET_KEY": "pk_test_123"}, "BOOKPAY_STRIPE_SECRET_KEY"),
    ],
)
def test_stripe_refuses_to_start_with_a_weak_secret(changes: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named) as refused:
        Settings.from_env(STRIPE | changes)
    for value in changes.values():
        assert value not in str(refused.value)  # the message never shows the secret


def test_the_new_settings_are_read_with_their_defaults() -> None:
    defaults = Settings.from_env({})
    assert defaults.checkout_limit_per_minute == 20
    assert defaults.auth_failures_per_minute == 10
    assert defaults.db_statement_timeout_ms == 5000
    assert defaults.redis_url is None
    assert defaults.idempotency_claim_timeout_seconds == 300
    assert defaults.default_max_seats_per_booking == 10
    assert defaults.return_hosts == frozenset({"127.0.0.1"})
    custom = Settings.from_env(
        {
            "BOOKPAY_ALLOWED_RETURN_HOSTS": "Shop.example, www.shop.example",
            "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "5",
            "BOOKPAY_AUTH_FAILURES_PER_MINUTE": "3",
            "BOOKPAY_DB_STATEMENT_TIMEOUT_MS": "1500",
            "BOOKPAY_REDIS_URL": "redis://127.0.0.1:6379/0",
            "BOOKPAY_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS": "20",
            "BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING": "4",
        }
    )
    assert custom.return_hosts == frozenset({"shop.example", "www.shop.example"})
    assert (custom.checkout_limit_per_minute, custom.auth_failures_per_minute) == (5, 3)
    assert custom.db_statement_timeout_ms == 1500
    assert custom.redis_url == "redis://127.0.0.1:6379/0"
    assert custom.idempotency_claim_timeout_seconds == 20
    assert custom.default_max_seats_per_booking == 4
