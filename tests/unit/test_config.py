"""Configuration from BOOKPAY_* variables: real Stripe never starts without its secrets."""

import os
from collections.abc import Callable

import pytest
from dependency_injector import errors

from domain.dispute import DisputeBearer
from entrypoints.cli import main, safe_url
from entrypoints.config import (
    ConfigurationError,
    GatewayKind,
    Settings,
    WebhookMode,
    load_settings,
    reveal,
)
from entrypoints.container import build_container

STRIPE = {
    "BOOKPAY_GATEWAY": "stripe",
    "BOOKPAY_STRIPE_SECRET_KEY": "sk_test_123",
    "BOOKPAY_STRIPE_WEBHOOK_SECRET": "whsec_platform",
    "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect",
    "BOOKPAY_ADMIN_API_KEY": "admin-key-" + "k" * 32,
}

Load = Callable[[dict[str, str]], Settings]


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Load:
    """Settings from exactly these variables: every other BOOKPAY_* one is unset."""

    def load_from(env: dict[str, str]) -> Settings:
        for name in list(os.environ):
            if name.startswith("BOOKPAY_"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return load_settings()

    return load_from


def test_the_fake_gateway_is_the_default_without_a_stripe_key(load: Load) -> None:
    settings = load({})
    assert settings.gateway is GatewayKind.FAKE
    assert settings.admin_api_key is None
    assert settings.hold_minutes == 30


def test_a_stripe_key_selects_stripe_by_default(load: Load) -> None:
    assert load(STRIPE | {"BOOKPAY_GATEWAY": ""}).gateway is GatewayKind.STRIPE
    assert load(STRIPE | {"BOOKPAY_GATEWAY": "Stripe"}).gateway is GatewayKind.STRIPE


@pytest.mark.parametrize(
    "missing",
    [
        "BOOKPAY_STRIPE_SECRET_KEY",
        "BOOKPAY_STRIPE_WEBHOOK_SECRET",
        "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET",
        "BOOKPAY_ADMIN_API_KEY",
    ],
)
def test_stripe_refuses_to_start_without_each_secret(load: Load, missing: str) -> None:
    env = {k: v for k, v in STRIPE.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        load(env)


def test_with_every_secret_stripe_starts_and_nothing_is_generated(load: Load) -> None:
    settings = load(STRIPE)
    same, generated = settings.with_generated_secrets()
    assert same == settings
    assert generated == {}


def test_fake_mode_generates_an_admin_key_and_secrets_never_a_fixed_default(load: Load) -> None:
    first, generated = load({}).with_generated_secrets()
    second, _ = load({}).with_generated_secrets()
    assert reveal(first.admin_api_key)
    assert reveal(first.admin_api_key) != reveal(second.admin_api_key)
    assert generated["BOOKPAY_ADMIN_API_KEY"] == reveal(first.admin_api_key)
    assert reveal(first.stripe_webhook_secret) != reveal(first.stripe_connect_webhook_secret)


def test_secrets_are_not_in_the_settings_repr_nor_str(load: Load) -> None:
    settings = load(
        STRIPE
        | {
            "BOOKPAY_REDIS_URL": "redis://:redis-password@127.0.0.1:6379/0",
            "BOOKPAY_DATABASE_URL": "postgresql+asyncpg://bookpay:db-password@db/bookpay",
        }
    )
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        for secret in (
            "sk_test_123",
            "whsec_platform",
            "whsec_connect",
            STRIPE["BOOKPAY_ADMIN_API_KEY"],
            "redis-password",
        ):
            assert secret not in text
    assert "db-password" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOOKPAY_GATEWAY", "paypal"),
        ("BOOKPAY_HOLD_MINUTES", "5"),
        ("BOOKPAY_HOLD_MINUTES", "1441"),
        ("BOOKPAY_HOLD_MINUTES", "thirty"),
        ("BOOKPAY_SWEEP_SECONDS", "-1"),
        ("BOOKPAY_SWEEP_SECONDS", "1.5"),
        ("BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING", "0"),
        ("BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING", "ten"),
        ("BOOKPAY_DISPUTE_BEARER", "customer"),
        ("BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE", "lots"),
        ("BOOKPAY_OUTBOUND_RETRY_SECONDS", "5,soon"),
        ("BOOKPAY_OUTBOUND_ALLOW_PRIVATE", "perhaps"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(load: Load, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name) as refused:
        load({name: value})
    assert str(refused.value).count("BOOKPAY_") == 1  # only the wrong variable is named


def test_every_wrong_variable_is_named_at_once(load: Load) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load({"BOOKPAY_HOLD_MINUTES": "5", "BOOKPAY_SWEEP_SECONDS": "-1"})
    assert "BOOKPAY_HOLD_MINUTES" in str(refused.value)
    assert "BOOKPAY_SWEEP_SECONDS" in str(refused.value)


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
def test_stripe_refuses_to_start_with_a_weak_secret(
    load: Load, changes: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named) as refused:
        load(STRIPE | changes)
    for value in changes.values():
        assert value not in str(refused.value)  # the message never shows the secret


def test_the_settings_are_read_with_their_defaults(load: Load) -> None:
    defaults = load({})
    assert defaults.database_url == "sqlite+aiosqlite:///var/bookpay.db"
    assert defaults.public_base_url == "http://127.0.0.1:8000"
    assert defaults.sweep_seconds == 60
    assert defaults.dispute_bearer is DisputeBearer.TENANT
    assert defaults.checkout_limit_per_minute == 20
    assert defaults.auth_failures_per_minute == 10
    assert defaults.db_statement_timeout_ms == 5000
    assert defaults.redis_url is None
    assert defaults.idempotency_claim_timeout_seconds == 300
    assert defaults.default_max_seats_per_booking == 10
    assert defaults.outbound_retry_seconds == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert defaults.outbound_allow_private is False
    assert defaults.return_hosts == frozenset({"127.0.0.1"})
    assert defaults.webhook_base_url == defaults.public_base_url
    custom = load(
        {
            "BOOKPAY_PUBLIC_BASE_URL": "https://pay.shop.example/",
            "BOOKPAY_INTERNAL_BASE_URL": "http://127.0.0.1:9000",
            "BOOKPAY_ALLOWED_RETURN_HOSTS": "Shop.example, www.shop.example",
            "BOOKPAY_DISPUTE_BEARER": "Platform",
            "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "5",
            "BOOKPAY_AUTH_FAILURES_PER_MINUTE": "3",
            "BOOKPAY_DB_STATEMENT_TIMEOUT_MS": "1500",
            "BOOKPAY_REDIS_URL": " redis://127.0.0.1:6379/0 ",
            "BOOKPAY_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS": "20",
            "BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING": "4",
            "BOOKPAY_OUTBOUND_RETRY_SECONDS": "1, 2,3",
            "BOOKPAY_OUTBOUND_ALLOW_PRIVATE": "true",
        }
    )
    assert custom.public_base_url == "https://pay.shop.example"
    assert custom.webhook_base_url == "http://127.0.0.1:9000"
    assert custom.return_hosts == frozenset({"shop.example", "www.shop.example"})
    assert custom.dispute_bearer is DisputeBearer.PLATFORM
    assert (custom.checkout_limit_per_minute, custom.auth_failures_per_minute) == (5, 3)
    assert custom.db_statement_timeout_ms == 1500
    assert reveal(custom.redis_url) == "redis://127.0.0.1:6379/0"
    assert custom.idempotency_claim_timeout_seconds == 20
    assert custom.default_max_seats_per_booking == 4
    assert custom.outbound_retry_seconds == (1, 2, 3)
    assert custom.outbound_allow_private is True


def test_the_container_reads_every_setting_and_refuses_an_unknown_one(load: Load) -> None:
    settings, _ = load({"BOOKPAY_HOLD_MINUTES": "45"}).with_generated_secrets()
    container = build_container(settings)
    assert container.config.hold_minutes() == 45
    assert container.config.gateway() == "fake"
    with pytest.raises(errors.Error, match="hold_minute"):  # strict: a typo fails loudly
        container.config.hold_minute()


def test_a_database_url_is_shown_without_its_password() -> None:
    shown = safe_url("postgresql+asyncpg://bookpay:s3cr%40t@db.example:5432/bookpay")
    assert shown == "postgresql+asyncpg://bookpay:***@db.example:5432/bookpay"
    assert safe_url("sqlite+aiosqlite:///var/bookpay.db") == "sqlite+aiosqlite:///var/bookpay.db"
    assert "secret" not in safe_url("not a url secret")


def test_the_command_refuses_to_start_and_names_the_wrong_variable(
    load: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    load({})  # every other BOOKPAY_* variable unset
    monkeypatch.setenv("BOOKPAY_HOLD_MINUTES", "thirty")
    with pytest.raises(SystemExit) as stopped:
        main(["migrate"])
    assert str(stopped.value).startswith("bookpay: BOOKPAY_HOLD_MINUTES: ")


def test_webhooks_are_applied_in_the_request_unless_the_queue_is_chosen(load: Load) -> None:
    defaults = load({})
    assert defaults.webhook_mode is WebhookMode.APPLY
    assert defaults.webhook_queue_rate == 20  # below Stripe's 25 requests/s per endpoint

    queued = load({"BOOKPAY_WEBHOOK_MODE": "Queue", "BOOKPAY_WEBHOOK_QUEUE_RATE": "0"})

    assert queued.webhook_mode is WebhookMode.QUEUE
    assert queued.webhook_queue_rate == 0  # unpaced
    with pytest.raises(ConfigurationError, match="BOOKPAY_WEBHOOK_MODE"):
        load({"BOOKPAY_WEBHOOK_MODE": "later"})
    with pytest.raises(ConfigurationError, match="BOOKPAY_WEBHOOK_QUEUE_RATE"):
        load({"BOOKPAY_WEBHOOK_QUEUE_RATE": "-1"})
