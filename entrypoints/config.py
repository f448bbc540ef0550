"""Configuration from `BOOKPAY_*` environment variables (DESIGN.md, "Configuration").

`load_settings()` reads the environment once with pydantic-settings; the container takes
the result as it is (`Configuration.from_pydantic`). Secrets are `SecretStr`, so neither a
repr, a log line nor an error message ever shows them.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from enum import StrEnum
from ipaddress import ip_network
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, computed_field, field_validator
from pydantic import model_validator as _model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from adapters.fake_stripe.latency import FakeLatency, InvalidLatency
from domain.dispute import DisputeBearer
from domain.events import MAX_ENDPOINTS_PER_OWNER
from domain.hold import MAX_HOLD, MIN_HOLD
from entrypoints.secrets_policy import (
    admin_key_weakness,
    stripe_key_weakness,
    webhook_secret_weakness,
)

ENV_PREFIX = "BOOKPAY_"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/bookpay.db"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_OUTBOUND_RETRY_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 36000)
MIN_ADMIN_KEY_LENGTH = 32
# The Checkout Session lifetime Stripe allows bounds how long seats may be held.
MIN_HOLD_MINUTES = MIN_HOLD // timedelta(minutes=1)
MAX_HOLD_MINUTES = MAX_HOLD // timedelta(minutes=1)


class GatewayKind(StrEnum):
    FAKE = "fake"
    STRIPE = "stripe"


class WebhookMode(StrEnum):
    """How Stripe's webhooks are applied (README, "How payment state stays true")."""

    APPLY = "apply"  # in the request, answered with what it changed
    QUEUE = "queue"  # kept and answered `queued`; a paced worker applies it


class ConfigurationError(Exception):
    """The environment does not describe a server that may start."""


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


CommaList = Annotated[tuple[str, ...], NoDecode]
CommaNumbers = Annotated[tuple[Annotated[int, Field(ge=0)], ...], NoDecode]


# Requests at work per worker process (issue 19): beyond the pool's 20 connections enough
# to keep them busy, few enough that a transaction's round trips are not queued behind
# many other requests' turns on the event loop (the benchmark's setting). A request waiting
# for Stripe does not count, nor one whose body is still arriving (the review's 32 clients
# sending bodies byte by byte stalled everyone while a place was held during the body).
DEFAULT_MAX_REQUESTS_IN_FLIGHT = 32


class Settings(BaseSettings):
    """Every `BOOKPAY_*` variable, typed; an empty variable counts as unset."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        str_strip_whitespace=True,
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    # The URL may carry the database password: shown only through `safe_database_url`.
    database_url: str = Field(DEFAULT_DATABASE_URL, repr=False)
    # Default: `stripe` when a Stripe secret key is set, else `fake` (see _choose_gateway).
    gateway: GatewayKind = GatewayKind.FAKE
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_connect_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    admin_api_key: SecretStr | None = None
    hold_minutes: int = Field(30, ge=MIN_HOLD_MINUTES, le=MAX_HOLD_MINUTES)
    # Where the fake gateway POSTs its webhooks: this server itself (set by `bookpay serve`).
    internal_base_url: str | None = None
    # 0 turns the sweeper off.
    sweep_seconds: int = Field(60, ge=0)
    dispute_bearer: DisputeBearer = DisputeBearer.TENANT
    # Empty means the host of public_base_url (see `return_hosts`).
    allowed_return_hosts: CommaList = ()
    # Proxies whose X-Forwarded-For/-Proto are believed: addresses or networks, "*" for
    # any; empty (default): none, the client address is the connection's.
    forwarded_allow_ips: CommaList = ()
    checkout_limit_per_minute: int = Field(20, ge=0)
    auth_failures_per_minute: int = Field(10, ge=0)
    # Seats one client address may put on hold per hour, whatever the emails (0: off).
    held_seats_per_client_per_hour: int = Field(40, ge=0)
    # One client address holds at most one booking's share of a slot within a hold's length
    # (README, "Hard edges"); false: not counted.
    slot_share_per_client: bool = True
    db_statement_timeout_ms: int = Field(5000, ge=0)
    # Requests one worker process works on at once, each once its body has arrived; the
    # rest wait in line in arrival order, at most max_wait_in_line_ms, then 503
    # (entrypoints/http/admission.py). 0: no bound.
    max_requests_in_flight: int = Field(DEFAULT_MAX_REQUESTS_IN_FLIGHT, ge=0)
    max_wait_in_line_ms: int = Field(5000, ge=1, le=60_000)
    # DATABASE_URL is a PgBouncer in transaction pooling mode (README, "PgBouncer").
    db_transaction_pooler: bool = False
    # PostgreSQL: the role every transaction runs as, bound by row-level security (README,
    # "Row-level security"); empty: the login's own role (only for a login that is itself
    # a non-owner role bound by the policies).
    database_role: str = Field("bookpay_app", pattern=r"^([a-z_][a-z0-9_]{0,62})?$")
    # Longer than any request may run: a retry then takes over a key whose request died.
    idempotency_claim_timeout_seconds: int = Field(300, ge=0)
    default_max_seats_per_booking: int = Field(10, ge=1)
    # A Redis URL may carry a password.
    redis_url: SecretStr | None = None
    # How long to wait for Redis to connect and to answer, each time: past it the request
    # is let through (the rate limits must not stall the API).
    redis_timeout_ms: int = Field(250, ge=1, le=10_000)
    # `queue`: acknowledge a verified webhook once kept, apply it from a worker paced to
    # webhook_queue_rate gateway calls a second per process (0: unpaced); Stripe's default
    # limit is 25 requests a second per endpoint.
    webhook_mode: WebhookMode = WebhookMode.APPLY
    webhook_queue_rate: int = Field(20, ge=0)
    # Events out (DESIGN.md, "Events out"): the delays between delivery attempts.
    outbound_retry_seconds: CommaNumbers = DEFAULT_OUTBOUND_RETRY_SECONDS
    outbound_allow_private: bool = False
    # How long the fake Stripe takes to answer: "p50" or "p50,p99" in ms; "" for no delay.
    fake_stripe_latency_ms: str = ""
    # The fake Stripe's own connections per process on PostgreSQL (entrypoints/container.py
    # fake_stripe_engine): the benchmark raises it so that the stand-in is not what queues.
    fake_stripe_pool_size: int = Field(10, ge=1)
    # How often each server process runs the relay; 0 leaves it to `bookpay deliver`.
    outbound_poll_seconds: int = Field(1, ge=0)
    # How long an endpoint has to answer 2xx; a delivery whose relay died is tried again
    # after three times this.
    outbound_timeout_seconds: int = Field(10, ge=1)
    # Deliveries in flight at once per owner of endpoints (a tenant, or the platform) and
    # per endpoint: a slow owner holds back its own deliveries only.
    outbound_max_in_flight_per_owner: int = Field(20, ge=1)
    outbound_max_in_flight_per_endpoint: int = Field(20, ge=1)
    # Delivered and failed deliveries (and their events) older than this are purged;
    # 0 keeps them for ever.
    outbound_retention_days: int = Field(30, ge=0)
    # Endpoints one owner (a tenant, or the platform) may have: each event is written once
    # per endpoint that hears it.
    outbound_max_endpoints_per_owner: int = Field(MAX_ENDPOINTS_PER_OWNER, ge=1)

    @property
    def outbound_lease_seconds(self) -> int:
        """How long a claimed delivery waits before another relay may try it: three
        times the answer's timeout, so a live relay always finishes first."""
        return 3 * self.outbound_timeout_seconds

    @_model_validator(mode="before")
    @classmethod
    def _choose_gateway(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("gateway"):
            data = {**data, "gateway": "stripe" if data.get("stripe_secret_key") else "fake"}
        return data

    @field_validator("gateway", "dispute_bearer", "webhook_mode", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "allowed_return_hosts", "outbound_retry_seconds", "forwarded_allow_ips", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if entry != "*":
                try:
                    ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"not an address or network: {entry!r}") from None
        return value

    @field_validator("public_base_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("fake_stripe_latency_ms")
    @classmethod
    def _latency(cls, value: str) -> str:
        try:
            FakeLatency.parse(value)
        except InvalidLatency as error:
            raise ValueError(str(error)) from None
        return value

    @_model_validator(mode="after")
    def _stripe_needs_strong_secrets(self) -> Settings:
        """With real Stripe, refuse to start without every secret: no default ever works."""
        if self.gateway is not GatewayKind.STRIPE:
            return self
        missing = [
            f"{ENV_PREFIX}{name.upper()}"
            for name in (
                "stripe_secret_key",
                "stripe_webhook_secret",
                "stripe_connect_webhook_secret",
                "admin_api_key",
            )
            if getattr(self, name) is None
        ]
        if missing:
            raise ValueError(
                "BOOKPAY_GATEWAY=stripe needs these settings, which are missing: "
                + ", ".join(missing)
            )
        weak = self._weak_secrets()
        if weak:
            raise ValueError("BOOKPAY_GATEWAY=stripe refuses weak secrets: " + "; ".join(weak))
        return self

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
            weakness = weakness_of(reveal(value))
            if weakness:
                problems.append(f"BOOKPAY_{name} {weakness}")
        if reveal(self.stripe_webhook_secret) == reveal(self.stripe_connect_webhook_secret):
            problems.append(
                "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET must differ from "
                "BOOKPAY_STRIPE_WEBHOOK_SECRET (each endpoint has its own)"
            )
        return problems

    @computed_field  # type: ignore[prop-decorator]
    @property
    def return_hosts(self) -> frozenset[str]:
        """The allow-list of return URL hosts, lower case."""
        if self.allowed_return_hosts:
            return frozenset(host.lower() for host in self.allowed_return_hosts)
        return frozenset({(urlsplit(self.public_base_url).hostname or "").lower()})

    @computed_field  # type: ignore[prop-decorator]
    @property
    def webhook_base_url(self) -> str:
        """Where the fake gateway delivers its webhooks: this server."""
        return self.internal_base_url or self.public_base_url

    def limits_counted_per_process(self) -> tuple[str, ...]:
        """The per-client limits that are on and counted in each process's own memory (no
        BOOKPAY_REDIS_URL), by their variables' names; empty with Redis, or with every one
        of them off. Several processes would each count their own: one address would get
        each limit once per process (README, "Hard edges")."""
        if reveal(self.redis_url):
            return ()
        on = {
            "CHECKOUT_LIMIT_PER_MINUTE": self.checkout_limit_per_minute > 0,
            "AUTH_FAILURES_PER_MINUTE": self.auth_failures_per_minute > 0,
            "HELD_SEATS_PER_CLIENT_PER_HOUR": self.held_seats_per_client_per_hour > 0,
            "SLOT_SHARE_PER_CLIENT": self.slot_share_per_client,
        }
        return tuple(f"{ENV_PREFIX}{name}" for name, counted in on.items() if counted)

    def with_generated_secrets(self) -> tuple[Settings, dict[str, str]]:
        """Fake mode only: fill in a random admin key and webhook secrets.

        Returns the settings and the generated values as environment variables, so a
        server's worker processes all share them.
        """
        if self.gateway is not GatewayKind.FAKE:
            return self, {}
        generated: dict[str, str] = {}
        changes: dict[str, SecretStr] = {}
        for attribute, prefix in (
            ("admin_api_key", "bp_admin_"),
            ("stripe_webhook_secret", "whsec_fake_"),
            ("stripe_connect_webhook_secret", "whsec_fake_"),
        ):
            if getattr(self, attribute) is None:
                value = prefix + secrets.token_urlsafe(24)
                changes[attribute] = SecretStr(value)
                generated[f"{ENV_PREFIX}{attribute.upper()}"] = value
        return self.model_copy(update=changes), generated


def reveal(secret: SecretStr | None) -> str:
    """The secret's value, or "" when it is unset: for the adapters that need it."""
    return "" if secret is None else secret.get_secret_value()


def load_settings() -> Settings:
    """The settings of the `BOOKPAY_*` environment variables.

    Raises ConfigurationError naming each variable that is wrong, never its value.
    """
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(_explain(error)) from None


def _explain(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        field = next((part for part in item["loc"] if isinstance(part, str)), None)
        problems.append(f"{ENV_PREFIX}{field.upper()}: {message}" if field else message)
    return "; ".join(problems)
