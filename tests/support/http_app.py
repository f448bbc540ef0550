"""The HTTP app in-process on a migrated SQLite file, with the fake gateway delivering its
signed webhooks straight into the same app (no network, no server process)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from litestar import Litestar
from pydantic import SecretStr

from adapters.sql.migrations import migrate
from application.ports.gateway import PaymentGateway, WebhookEndpoint
from entrypoints.config import ENV_PREFIX, GatewayKind, Settings
from entrypoints.container import Container, build_container
from entrypoints.fake_stripe_wiring import WEBHOOK_PATHS
from entrypoints.http.app import create_app
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore

BASE_URL = "http://testserver.local"
ADMIN_KEY = "bp_admin_test_" + "k" * 20
WEBHOOK_SECRET = "whsec_test_platform"
CONNECT_WEBHOOK_SECRET = "whsec_test_connect"


def asgi_transport(
    app: Litestar,
    *,
    client: tuple[str, int] = ("127.0.0.1", 123),  # httpx's own default
    raise_app_exceptions: bool = True,
) -> httpx.ASGITransport:
    """An httpx transport whose requests call `app` in-process, from the address `client`."""
    return httpx.ASGITransport(
        app=app,  # type: ignore[arg-type]  # Litestar's ASGI types are narrower than httpx's
        raise_app_exceptions=raise_app_exceptions,
        client=client,
    )


# Databases this process made as copies of a migrated template: migrating them again would
# only cost alembic's round trips.
MIGRATED: set[str] = set()


@cache
def migrated_sqlite_template() -> Path:
    """A SQLite file migrated once per process (per xdist worker), removed at exit.

    Copying it costs a file copy; migrating a fresh file runs every alembic revision.
    """
    folder = Path(tempfile.mkdtemp(prefix="bookpay-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    template = folder / "migrated.db"
    migrate(f"sqlite+aiosqlite:///{template}")
    return template


def migrated_sqlite_url(path: Path) -> str:
    """A migrated SQLite database at `path`, copied from the template; its URL."""
    shutil.copyfile(migrated_sqlite_template(), path)
    url = f"sqlite+aiosqlite:///{path}"
    MIGRATED.add(url)
    return url


@dataclass
class _PooledApp:
    app: Litestar
    container: Container
    serving: bool = False  # between the lifespan's startup and its shutdown


# Apps built by this process, by the settings they read (_app_key); an app is lent to one test
# at a time and comes back when the test ends (`_apps_back_to_the_pool`).
_FREE: defaultdict[tuple[tuple[str, str], ...], list[_PooledApp]] = defaultdict(list)
_LENT: list[tuple[tuple[tuple[str, str], ...], _PooledApp]] = []


def build_test_app(
    tmp_path: Path,
    database_url: str | None = None,
    *,
    gateway_wrapper: Callable[[PaymentGateway], PaymentGateway] | None = None,
    dispute_bearer: str = "tenant",
    fake_stripe_in_database: bool = False,
    migrate_first: bool = True,
    own_app: bool = False,
    **settings_changes: Any,
) -> tuple[Litestar, Container]:
    """The app on a fresh SQLite file (a copy of the migrated template), or on
    `database_url` (migrated here unless `migrate_first` is False or it is a copy of a
    migrated template); `settings_changes` override the test settings.

    `gateway_wrapper` puts something between the use cases and the fake gateway (e.g. a
    link that can go down); the hosted test pages keep using the fake itself. The fake
    Stripe keeps its state in memory, or in the database as in production.

    Building a Litestar app costs far more than a test's requests, so the app is reused:
    a test gets an app built earlier in this worker with the same settings (but those
    only its container reads: the database, the limits), which no other test holds, its
    container as new (every override undone, every singleton dropped: new engine, new
    fake Stripe, new rate limits). What the app itself keeps across tests is its request
    metrics: `own_app=True` builds a new app, never reused, for a test that reads them.
    Two calls in one test get two apps.
    """
    if database_url is None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'http.db'}"
        if migrate_first:
            url = migrated_sqlite_url(tmp_path / "http.db")
    else:
        url = database_url
        if migrate_first and url not in MIGRATED:
            migrate(url)
    settings = _settings(
        {
            "database_url": url,
            "gateway": GatewayKind.FAKE,
            "admin_api_key": ADMIN_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_connect_webhook_secret": CONNECT_WEBHOOK_SECRET,
            "public_base_url": BASE_URL,
            "dispute_bearer": dispute_bearer,
            # Off unless a test sets them: the limits have tests of their own.
            "checkout_limit_per_minute": 0,
            "auth_failures_per_minute": 0,
            "held_seats_per_client_per_hour": 0,
            **settings_changes,
        }
    )
    key = _app_key(settings)
    pooled = None if own_app or not _FREE[key] else _FREE[key].pop()
    if pooled is None:
        container = build_container(settings)
        pooled = _PooledApp(create_app(container), container)
        _track_lifespan(pooled)
    else:
        container = pooled.container
        container.reset_override()
        container.reset_singletons()
        container.settings.override(providers.Object(settings))
        container.config.from_pydantic(settings)
    if not own_app:
        _LENT.append((key, pooled))
    app = pooled.app
    if not fake_stripe_in_database:
        container.fake_stripe_store.override(providers.Singleton(InMemoryFakeStripeStore))

    async def deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        transport = asgi_transport(app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.post(WEBHOOK_PATHS[endpoint], content=body, headers=headers)
        return response.status_code

    container.webhook_delivery.override(providers.Object(deliver))
    if gateway_wrapper is not None:
        container.gateway.override(providers.Singleton(gateway_wrapper, container.fake_gateway))
    return app, container


# Settings already read, by the values given but the database and the BOOKPAY_* variables
# of the environment: reading them again (pydantic-settings looks at every field's
# variable) cost 2.3 ms a test, 14 ms under a profiler. Each test has a database URL of its
# own (its tmp_path), so the URL is set on a copy, not read: no validator looks at it.
_SETTINGS: dict[tuple[tuple[str, str], ...], Settings] = {}


def _settings(values: dict[str, Any]) -> Settings:
    """Settings(**values), read once for the same values (but the database URL) and
    environment (Settings are frozen)."""
    values = dict(values)
    database_url = values.pop("database_url")
    environment = (
        (name, value) for name, value in os.environ.items() if name.upper().startswith(ENV_PREFIX)
    )
    key = tuple(sorted((*((name, repr(value)) for name, value in values.items()), *environment)))
    settings = _SETTINGS.get(key)
    if settings is None:
        settings = _SETTINGS[key] = Settings(**values)
    return settings.model_copy(update={"database_url": database_url})


# Settings the app never reads itself: its container's providers do, anew for each test
# (the limits, the outbound webhook rules, the database and its pools, who bears a
# dispute's costs). Apps that differ only by them are one app (building one costs about
# 0.3 s of CPU); tests/integration/http/test_app_pool.py.
_READ_BY_THE_CONTAINER = frozenset(
    {
        "database_url",
        "db_statement_timeout_ms",
        "fake_stripe_pool_size",
        "dispute_bearer",
        "slot_share_per_client",
        "max_requests_in_flight",
        "max_wait_in_line_ms",
        "checkout_limit_per_minute",
        "auth_failures_per_minute",
        "held_seats_per_client_per_hour",
        "redis_url",
        "redis_timeout_ms",
        "outbound_allow_private",
        "outbound_max_endpoints_per_owner",
        "outbound_retry_seconds",
        "webhook_queue_rate",
    }
)


def _app_key(settings: Settings) -> tuple[tuple[str, str], ...]:
    """What an app is built from (its settings but those of _READ_BY_THE_CONTAINER),
    secrets included."""
    fields = []
    for name in sorted(Settings.model_fields):
        if name in _READ_BY_THE_CONTAINER:
            continue
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        fields.append((name, repr(value)))
    return tuple(fields)


def _track_lifespan(pooled: _PooledApp) -> None:
    """An app still serving when its test ends (a lifespan never shut down) keeps periodic
    tasks of that test's event loop: it is never lent again."""

    def started() -> None:
        pooled.serving = True

    def stopped() -> None:
        pooled.serving = False

    pooled.app.on_startup.insert(0, started)
    pooled.app.on_shutdown.append(stopped)


def give_back_lent_apps() -> None:
    """The apps lent so far are free again (unless still serving)."""
    while _LENT:
        key, pooled = _LENT.pop()
        if not pooled.serving:
            _FREE[key].append(pooled)


@pytest.fixture(autouse=True)
def _apps_back_to_the_pool() -> Iterator[None]:
    """After each test, the apps it was lent are free again."""
    yield
    give_back_lent_apps()
