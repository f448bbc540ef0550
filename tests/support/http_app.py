"""The HTTP app in-process on a migrated SQLite file, with the fake gateway delivering its
signed webhooks straight into the same app (no network, no server process)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from dependency_injector import providers
from litestar import Litestar

from adapters.fake_stripe.store import InMemoryFakeStripeStore
from adapters.sql.migrations import migrate
from application.ports.gateway import PaymentGateway, WebhookEndpoint
from entrypoints.config import GatewayKind, Settings
from entrypoints.container import WEBHOOK_PATHS, Container, build_container
from entrypoints.http.app import create_app

BASE_URL = "http://testserver.local"
ADMIN_KEY = "bp_admin_test_" + "k" * 20
WEBHOOK_SECRET = "whsec_test_platform"
CONNECT_WEBHOOK_SECRET = "whsec_test_connect"


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


def build_test_app(
    tmp_path: Path,
    database_url: str | None = None,
    *,
    gateway_wrapper: Callable[[PaymentGateway], PaymentGateway] | None = None,
    dispute_bearer: str = "tenant",
    fake_stripe_in_database: bool = False,
    migrate_first: bool = True,
    **settings_changes: Any,
) -> tuple[Litestar, Container]:
    """The app on a fresh SQLite file (a copy of the migrated template), or on
    `database_url` (migrated here unless `migrate_first` is False or it is a copy of a
    migrated template); `settings_changes` override the test settings.

    `gateway_wrapper` puts something between the use cases and the fake gateway (e.g. a
    link that can go down); the hosted test pages keep using the fake itself. The fake
    Stripe keeps its state in memory, or in the database as in production.
    """
    if database_url is None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'http.db'}"
        if migrate_first:
            url = migrated_sqlite_url(tmp_path / "http.db")
    else:
        url = database_url
        if migrate_first and url not in MIGRATED:
            migrate(url)
    settings = Settings(
        **{
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
    container = build_container(settings)
    if not fake_stripe_in_database:
        container.fake_stripe_store.override(providers.Singleton(InMemoryFakeStripeStore))
    app = create_app(container)

    async def deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.post(WEBHOOK_PATHS[endpoint], content=body, headers=headers)
        return response.status_code

    container.webhook_delivery.override(providers.Object(deliver))
    if gateway_wrapper is not None:
        container.gateway.override(providers.Singleton(gateway_wrapper, container.fake_gateway))
    return app, container
