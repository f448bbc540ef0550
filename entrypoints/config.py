"""Configuration from `BOOKPAY_*` environment variables (DESIGN.md, "Configuration")."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import urlsplit

from entrypoints.secrets_policy import (
    admin_key_weakness,
    stripe_key_weakness,
    webhook_secret_weakness,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/bookpay.db"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"


class GatewayKind(StrEnum):
    FAKE = "fake"
    STRIPE = "stripe"


class ConfigurationError(Exception):
    """The environment does not describe a server that may start."""


def _whole_number(text: str, name: str) -> int:
    if not text.isdigit():
        raise ConfigurationError(f"{name} must be a whole number, not {text!r}")
    return int(text)


def _seat_cap(text: str | None) -> int:
    name = "BOOKPAY_DEFAULT_MAX_SEATS_PER_BOOKING"
    cap = _whole_number(text or "10", name)
    if cap < 1:
        raise ConfigurationError(f"{name} must be at least 1")
    return cap


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    gateway: GatewayKind = GatewayKind.FAKE
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_connect_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_base: str | None = None
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    admin_api_key: str | None = field(default=None, repr=False)
    hold_minutes: int = 30
    # Where the fake gateway POSTs its webhooks: this server itself (set by `bookpay serve`).
    webhook_base_url: str | None = None
    # How often each server process sweeps lapsed holds; 0 turns the sweeper off.
    sweep_seconds: int = 60
    # Who bears a lost dispute of a destination charge: "tenant" (recovered with a
    # transfer reversal) or "platform".
    dispute_bearer: str = "tenant"
    # Hosts a customer or tenant may be sent back to; empty means the host of public_base_url.
    allowed_return_hosts: tuple[str, ...] = ()
    checkout_limit_per_minute: int = 20
    auth_failures_per_minute: int = 10
    # Seats one client address may put on hold per hour, whatever the emails (0: off).
    held_seats_per_client_per_hour: int = 40
    db_statement_timeout_ms: int = 5000
    # After how long a retry takes over an Idempotency-Key whose request died (its process
    # was killed) without an answer; longer than any request may run.
    idempotency_claim_timeout_seconds: int = 300
    # Seats one booking may take of an offering that sets no max_seats_per_booking.
    default_max_seats_per_booking: int = 10
    # Shared storage for the rate limits, so they hold across processes and hosts.
    redis_url: str | None = field(default=None, repr=False)

    @property
    def return_hosts(self) -> frozenset[str]:
        """The allow-list of return URL hosts, lower case."""
        if self.allowed_return_hosts:
            return frozenset(host.lower() for host in self.allowed_return_hosts)
        return frozenset({(urlsplit(self.public_base_url).hostname or "").lower()})

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = env.get(f"BOOKPAY_{name}", "").strip()
            return value or None

        secret_key = get("STRIPE_SECRET_KEY")
        gateway_name = get("GATEWAY") or (GatewayKind.STRIPE if secret_key else GatewayKind.FAKE)
        try:
            gateway = GatewayKind(gateway_name.lower())
        except ValueError:
            raise ConfigurationError(
                f"BOOKPAY_GATEWAY must be 'fake' or 'stripe', not {gateway_name!r}"
            ) from None
        hold = get("HOLD_MINUTES") or "30"
        if not hold.isdigit() or not 30 <= int(hold) <= 24 * 60:
            raise ConfigurationError(
                "BOOKPAY_HOLD_MINUTES must be a whole number of minutes from 30 to 1440 "
                "(the lifetime Stripe allows a Checkout Session)"
            )
        bearer = (get("DISPUTE_BEARER") or "tenant").lower()
        if bearer not in ("tenant", "platform"):
            raise ConfigurationError(
                f"BOOKPAY_DISPUTE_BEARER must be 'tenant' or 'platform', not {bearer!r}"
            )
        settings = cls(
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            gateway=gateway,
            stripe_secret_key=secret_key,
            stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET"),
            stripe_connect_webhook_secret=get("STRIPE_CONNECT_WEBHOOK_SECRET"),
            stripe_api_base=get("STRIPE_API_BASE"),
            public_base_url=(get("PUBLIC_BASE_URL") or DEFAULT_PUBLIC_BASE_URL).rstrip("/"),
            admin_api_key=get("ADMIN_API_KEY"),
            hold_minutes=int(hold),
            webhook_base_url=get("INTERNAL_BASE_URL"),
            sweep_seconds=_whole_number(get("SWEEP_SECONDS") or "60", "BOOKPAY_SWEEP_SECONDS"),
            dispute_bearer=bearer,
            allowed_return_hosts=tuple(
                host.strip()
                for host in (get("ALLOWED_RETURN_HOSTS") or "").split(",")
                if host.strip()
            ),
            checkout_limit_per_minute=_whole_number(
                get("CHECKOUT_LIMIT_PER_MINUTE") or "20", "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE"
            ),
            auth_failures_per_minute=_whole_number(
                get("AUTH_FAILURES_PER_MINUTE") or "10", "BOOKPAY_AUTH_FAILURES_PER_MINUTE"
            ),
            held_seats_per_client_per_hour=_whole_number(
                get("HELD_SEATS_PER_CLIENT_PER_HOUR") or "40",
                "BOOKPAY_HELD_SEATS_PER_CLIENT_PER_HOUR",
            ),
            db_statement_timeout_ms=_whole_number(
                get("DB_STATEMENT_TIMEOUT_MS") or "5000", "BOOKPAY_DB_STATEMENT_TIMEOUT_MS"
            ),
            default_max_seats_per_booking=_seat_cap(get("DEFAULT_MAX_SEATS_PER_BOOKING")),
            redis_url=get("REDIS_URL"),
            idempotency_claim_timeout_seconds=_whole_number(
                get("IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS") or "300",
                "BOOKPAY_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS",
            ),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """With real Stripe, refuse to start without every secret: no default ever works."""
        if self.gateway is not GatewayKind.STRIPE:
            return
        missing = [
            f"BOOKPAY_{name}"
            for name, value in (
                ("STRIPE_SECRET_KEY", self.stripe_secret_key),
                ("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
                ("STRIPE_CONNECT_WEBHOOK_SECRET", self.stripe_connect_webhook_secret),
                ("ADMIN_API_KEY", self.admin_api_key),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                "BOOKPAY_GATEWAY=stripe needs these settings, which are missing: "
                + ", ".join(missing)
            )
        weak = self._weak_secrets()
        if weak:
            raise ConfigurationError(
                "BOOKPAY_GATEWAY=stripe refuses weak secrets: " + "; ".join(weak)
            )

    def _weak_secrets(self) -> list[str]:
        """What is wrong with each secret, naming the variable, never showing the value."""
        problems = []
        checks = [
            ("STRIPE_SECRET_KEY", stripe_key_weakness, self.stripe_secret_key),
            ("ADMIN_API_KEY", admin_key_weakness, self.admin_api_key),
            ("STRIPE_WEBHOOK_SECRET", webhook_secret_weakness, self.stripe_webhook_secret),
            (
                "STRIPE_CONNECT_WEBHOOK_SECRET",
                webhook_secret_weakness,
                self.stripe_connect_webhook_secret,
            ),
        ]
        for name, weakness_of, value in checks:
            weakness = weakness_of(value or "")
            if weakness:
                problems.append(f"BOOKPAY_{name} {weakness}")
        if self.stripe_webhook_secret == self.stripe_connect_webhook_secret:
            problems.append(
                "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET must differ from "
                "BOOKPAY_STRIPE_WEBHOOK_SECRET (each endpoint has its own)"
            )
        return problems

    def with_generated_secrets(self) -> tuple[Settings, dict[str, str]]:
        """Fake mode only: fill in a random admin key and webhook secrets.

        Returns the settings and the generated values as environment variables, so a
        server's worker processes all share them.
        """
        if self.gateway is not GatewayKind.FAKE:
            return self, {}
        generated: dict[str, str] = {}
        changes: dict[str, str] = {}
        for attribute, name, prefix in (
            ("admin_api_key", "ADMIN_API_KEY", "bp_admin_"),
            ("stripe_webhook_secret", "STRIPE_WEBHOOK_SECRET", "whsec_fake_"),
            ("stripe_connect_webhook_secret", "STRIPE_CONNECT_WEBHOOK_SECRET", "whsec_fake_"),
        ):
            if getattr(self, attribute) is None:
                value = prefix + secrets.token_urlsafe(24)
                changes[attribute] = value
                generated[f"BOOKPAY_{name}"] = value
        return replace(self, **changes), generated
