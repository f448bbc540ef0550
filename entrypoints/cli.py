"""The `bookpay` command: migrate, serve, demo, run (all three), sweep, deliver, reconcile,
tenant-key."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters.sql.database import is_sqlite
from adapters.sql.row_scope import acting_for_platform
from entrypoints.config import ConfigurationError, GatewayKind, Settings, load_settings, reveal

ASGI_FACTORY = "entrypoints.asgi:create_asgi_app"
# The event loop and HTTP/1.1 parser uvicorn serves on, in C (declared dependencies): the
# same work costs the worker less CPU than asyncio's own loop and h11 (docs/benchmarks.md).
SERVER_LOOP = "uvloop"
SERVER_HTTP = "httptools"
# prometheus_client's multiprocess mode: read by each worker process as it starts.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
STATE_DIR = Path("var")
ADMIN_KEY_FILE = STATE_DIR / "admin-key"


def _settings() -> Settings:
    try:
        settings = load_settings()
        if settings.gateway is GatewayKind.FAKE and settings.admin_api_key is None:
            os.environ["BOOKPAY_ADMIN_API_KEY"] = stable_admin_key(ADMIN_KEY_FILE)
            settings = load_settings()
    except ConfigurationError as error:
        sys.exit(f"bookpay: {error}")
    return settings


def stable_admin_key(path: Path) -> str:
    """Fake gateway only: the admin key kept in `path` (mode 0600), made on first use, so
    it stays the same across restarts until `make clean`."""
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "bp_admin_" + secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    path.chmod(0o600)
    return key


def _admin_key_source(settings: Settings) -> str:
    """Where the admin key in use comes from, for a person to find it (never the key: one
    set in the environment is the operator's secret)."""
    kept = ADMIN_KEY_FILE.read_text().strip() if ADMIN_KEY_FILE.exists() else None
    if kept == reveal(settings.admin_api_key):
        return f"in {ADMIN_KEY_FILE}"
    return "the one in BOOKPAY_ADMIN_API_KEY"


def _ensure_sqlite_folder(url: str) -> None:
    if is_sqlite(url) and ":memory:" not in url:
        path = make_url(url).database
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def migrate(database_url: str) -> None:
    """Bring the schema up to date, importing Alembic only now: the server, in this process
    with one worker, never migrates on PostgreSQL nor pays its memory (bench/findings.md)."""
    from adapters.sql.migrations import migrate as upgrade

    upgrade(database_url)


def cmd_migrate(_: argparse.Namespace) -> None:
    settings = _settings()
    _ensure_sqlite_folder(settings.database_url)
    migrate(settings.database_url)
    print("bookpay: the database schema is up to date")


def require_shared_limits(settings: Settings, workers: int) -> None:
    """Exit with a one-line reason when several workers would each keep their own count of
    the per-client limits (they need BOOKPAY_REDIS_URL, or those limits off)."""
    counted = settings.limits_counted_per_process()
    if workers > 1 and counted:
        sys.exit(
            f"bookpay: with --workers {workers} each worker would count the per-client "
            f"limits on its own, so one address would get {workers} times each "
            f"({', '.join(counted)}); set BOOKPAY_REDIS_URL (e.g. redis://127.0.0.1:6379/0) "
            "so that every worker shares one count, or switch those limits off (0, or false)"
        )


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    _follow_the_port_in_development(args)
    settings = _settings()
    require_shared_limits(settings, args.workers)
    if is_sqlite(settings.database_url):
        _ensure_sqlite_folder(settings.database_url)
        migrate(settings.database_url)
    # Generated secrets go into the environment, so every worker process shares them.
    settings, generated = settings.with_generated_secrets()
    os.environ.update(generated)
    os.environ.setdefault("BOOKPAY_INTERNAL_BASE_URL", f"http://{args.host}:{args.port}")
    if "BOOKPAY_ADMIN_API_KEY" in generated:
        print(f"bookpay: generated admin key (fake gateway only): {reveal(settings.admin_api_key)}")
    elif settings.gateway is GatewayKind.FAKE:
        print(f"bookpay: the admin key (fake gateway only) is {_admin_key_source(settings)}")
    print(f"bookpay: gateway={settings.gateway.value} database={safe_url(settings.database_url)}")
    print(f"bookpay: API docs at http://{args.host}:{args.port}/schema")
    sys.stdout.flush()
    options = uvicorn_options(args, settings)
    if args.workers > 1 or os.environ.get(MULTIPROCESS_DIR):
        prepare_shared_metrics()
    if args.workers <= 1:
        uvicorn.run(ASGI_FACTORY, **options)
        return
    _serve_workers(uvicorn.Config(ASGI_FACTORY, **options))


def uvicorn_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """uvicorn's options for `serve` and `run`. `X-Forwarded-For`/`-Proto` are believed only
    from the addresses in BOOKPAY_FORWARDED_ALLOW_IPS (none by default): uvicorn's own
    default trusts loopback, so anyone behind a local TCP proxy named their own address
    and escaped every per-address limit."""
    trusted = list(settings.forwarded_allow_ips)
    return {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "log_level": args.log_level,
        "access_log": args.access_log,
        "proxy_headers": bool(trusted),
        # Never None: uvicorn would read FORWARDED_ALLOW_IPS, else trust loopback.
        "forwarded_allow_ips": trusted,
        "loop": SERVER_LOOP,
        "http": SERVER_HTTP,
    }


def prepare_shared_metrics() -> Path:
    """An empty folder in PROMETHEUS_MULTIPROC_DIR (a new temporary one unless set), where
    every worker process writes its metrics and from which `/metrics` adds them up.

    Emptied at each start, as prometheus_client requires: samples of a previous run's
    processes would otherwise count again.
    """
    given = os.environ.get(MULTIPROCESS_DIR)
    folder = Path(given or tempfile.mkdtemp(prefix="bookpay-metrics-"))
    if not given:
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_DIR] = str(folder)
    return folder


def _serve_workers(config: Any) -> None:
    """Several workers, each with a listening socket of its own on the same port
    (SO_REUSEPORT) and TCP_NODELAY kept on: entrypoints/serve_workers.py says why."""
    from entrypoints.serve_workers import ReusePortWorkers

    ReusePortWorkers(config, config.host, config.port).run()


def safe_url(url: str) -> str:
    """The database URL without its password (`***` in its place)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


def cmd_demo(args: argparse.Namespace) -> None:
    from entrypoints.demo import seed_demo

    settings = _settings()
    _ensure_sqlite_folder(settings.database_url)
    migrate(settings.database_url)
    settings, generated = settings.with_generated_secrets()
    os.environ.update(generated)
    base = args.base_url or settings.public_base_url
    try:
        asyncio.run(seed_demo(settings, base))
    except ConfigurationError as error:
        sys.exit(f"bookpay: {error}")


def cmd_sweep(_: argparse.Namespace) -> None:
    """Expire lapsed holds once (the server also does this periodically)."""
    from entrypoints.container import build_container, dispose_engines

    async def sweep() -> None:
        container = build_container(_settings().with_generated_secrets()[0])
        try:
            with acting_for_platform():  # every tenant's holds
                report = await container.expire_lapsed_holds()()
        finally:
            await dispose_engines(container)
        print(
            f"bookpay sweep: {len(report.expired)} expired, {len(report.completed)} completed "
            f"meanwhile, {len(report.skipped)} left for the next sweep"
        )

    asyncio.run(sweep())


def cmd_deliver(_: argparse.Namespace) -> None:
    """Run the events-out relay once: deliver every event that is due now, then purge
    what is finished and older than the retention."""
    from entrypoints.container import build_container, dispose_engines

    async def deliver() -> None:
        container = build_container(_settings().with_generated_secrets()[0])
        try:
            with acting_for_platform():  # every owner's events
                report = await container.deliver_events()()
                purged = await container.purge_events_out()()
        finally:
            await container.event_sender().aclose()
            await dispose_engines(container)
        print(
            f"bookpay deliver: {report.dispatched} events fanned out, {report.attempted} "
            f"deliveries tried: {report.delivered} delivered, {report.retrying} to retry, "
            f"{report.failed} failed; {purged} finished rows purged"
        )

    asyncio.run(deliver())


def cmd_reconcile(args: argparse.Namespace) -> None:
    """Ask the gateway about what its events should have said, apply it, and report what
    was repaired and what is left for a human."""
    from entrypoints.container import build_container, dispose_engines

    async def reconcile() -> None:
        container = build_container(_settings().with_generated_secrets()[0])
        try:
            with acting_for_platform():  # every tenant's bookings and accounts
                report = await container.reconcile()(payments_days=args.days)
        finally:
            await dispose_engines(container)
        print(
            f"bookpay reconcile: {report.changes} change(s): "
            f"{len(report.confirmed)} confirmed, {len(report.expired)} expired, "
            f"{len(report.tenants_updated)} tenant(s) updated, "
            f"{len(report.refunds_settled)} refund(s) settled, "
            f"{len(report.refunds_released)} refund reservation(s) released, "
            f"{len(report.disputes_recovered)} lost dispute(s) recovered, "
            f"{len(report.parked_dropped)} stale parked event(s) dropped, "
            f"{len(report.parked_applied)} parked event(s) applied, "
            f"{len(report.payments_repaired)} ledger repair(s); "
            f"{len(report.unreachable)} left for later, "
            f"{len(report.for_a_human)} left for a human"
        )
        for label, ids in (
            ("confirmed", report.confirmed),
            ("expired", report.expired),
            ("tenant updated", report.tenants_updated),
            ("refund settled", report.refunds_settled),
            ("refund released (the gateway refused it)", report.refunds_released),
            ("lost dispute recovered", report.disputes_recovered),
            ("parked event dropped", report.parked_dropped),
            ("parked event applied to booking", report.parked_applied),
            ("repaired from the gateway's facts", report.payments_repaired),
            ("left for later (the gateway did not answer)", report.unreachable),
            ("left for a human (the ledger and the gateway differ)", report.for_a_human),
        ):
            for ident in ids:
                print(f"  {label}: {ident}")

    asyncio.run(reconcile())


def cmd_tenant_key(args: argparse.Namespace) -> None:
    """Issue a new API key for the tenant with this slug; its other keys keep working."""
    from application.errors import NotFound
    from entrypoints.container import build_container, dispose_engines

    async def issue() -> str:
        container = build_container(_settings().with_generated_secrets()[0])
        try:
            with acting_for_platform():  # the tenant is found by its slug
                issued = await container.issue_tenant_api_key().by_slug(args.slug, label=args.label)
        finally:
            await dispose_engines(container)
        return issued.api_key

    try:
        api_key = asyncio.run(issue())
    except NotFound:
        sys.exit(f"bookpay: no tenant has the slug {args.slug!r}")
    print(api_key)


def development_base_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches `bookpay run --host H --port N`."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - a name
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _follow_the_port_in_development(args: argparse.Namespace) -> None:
    """Development only (the fake gateway): with BOOKPAY_PUBLIC_BASE_URL unset, the links
    printed, the checkout's way back and the fake's webhooks follow --host and --port."""
    if (
        os.environ.get("BOOKPAY_GATEWAY", GatewayKind.FAKE.value) == GatewayKind.FAKE.value
        and not os.environ.get("BOOKPAY_PUBLIC_BASE_URL", "").strip()
    ):
        os.environ["BOOKPAY_PUBLIC_BASE_URL"] = development_base_url(args.host, args.port)


def cmd_run(args: argparse.Namespace) -> None:
    """migrate + demo + serve: what `make run` does on a fresh machine."""
    os.environ.setdefault("BOOKPAY_GATEWAY", GatewayKind.FAKE.value)
    _follow_the_port_in_development(args)
    settings = _settings()
    require_shared_limits(settings, args.workers)  # before the demo is seeded
    settings, generated = settings.with_generated_secrets()
    os.environ.update(generated)
    args.base_url = settings.public_base_url
    cmd_demo(args)
    cmd_serve(args)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bookpay", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    for name, func, text in (
        ("serve", cmd_serve, "serve the HTTP API"),
        ("run", cmd_run, "migrate, seed the demo and serve (the fake gateway by default)"),
    ):
        serve = commands.add_parser(name, help=text)
        serve.add_argument("--host", default="127.0.0.1")
        serve.add_argument("--port", type=int, default=8000)
        serve.add_argument("--workers", type=int, default=1)
        serve.add_argument("--log-level", default="info")
        serve.add_argument("--access-log", action="store_true")
        serve.set_defaults(func=func, base_url=None)
    commands.add_parser("sweep", help="expire lapsed seat holds once").set_defaults(func=cmd_sweep)
    commands.add_parser("deliver", help="deliver the events out that are due, once").set_defaults(
        func=cmd_deliver
    )
    reconcile = commands.add_parser(
        "reconcile",
        help="ask the gateway about pending payments, accounts and recent bookings' money",
    )
    reconcile.add_argument(
        "--days",
        type=int,
        default=7,
        help="compare the money of paid bookings created this many days back (default 7)",
    )
    reconcile.set_defaults(func=cmd_reconcile)
    tenant_key = commands.add_parser(
        "tenant-key", help="issue a new API key for a tenant (printed once)"
    )
    tenant_key.add_argument("slug", help="the tenant's slug, e.g. demo-studio")
    tenant_key.add_argument("--label", default="cli", help="a note stored with the key")
    tenant_key.set_defaults(func=cmd_tenant_key)
    demo = commands.add_parser("demo", help="seed a demo tenant when the database is empty")
    demo.add_argument("--base-url", default=None)
    demo.set_defaults(func=cmd_demo)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
