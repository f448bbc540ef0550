"""What every part of `make bench` shares: constants, logging, ports, throwaway databases.

Every subprocess here runs this venv's own executables with arguments built here.
"""

# ruff: noqa: S603

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import create_engine
from bench import calibration
from domain.fees import FeePolicy
from domain.money import Money

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BOOKPAY = BIN / "bookpay"
ADMIN_KEY = "bp_admin_bench_" + "b" * 24
WEBHOOK_SECRET = "whsec_bench_platform"  # noqa: S105 - a throwaway local server's
CONNECT_SECRET = "whsec_bench_connect"  # noqa: S105
POSTGRES_SERVER = os.environ.get(
    "BOOKPAY_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
T = TypeVar("T")
# The packages whose versions a report shows (make bench's header, before/after's trees):
# the stack a request meets, uvloop and httptools included (the loop and parser `bookpay
# serve` and the ceilings run on).
SERVING_PACKAGES = (
    "litestar",
    "uvicorn",
    "uvloop",
    "httptools",
    "SQLAlchemy",
    "asyncpg",
    "aiosqlite",
    "msgspec",
    "dependency-injector",
)
PRICE = Money(2000, "usd")
POLICY = FeePolicy(percent_bps=500, fixed=Money(30, "usd"))
FUTURE_SLOTS = 60
DUPLICATE_SHARE = 0.2
# Pending bookings seeded for each timed webhook figure (more than any run sends). Kept at
# 8,000 although fewer would seed faster: the fake Stripe's objects share the database
# (two per booking), so fewer rows could change what a figure costs PostgreSQL and make
# it incomparable with earlier runs (bench/findings.md, standing finding 7).
WEBHOOK_BOOKINGS = 8_000


def inherited_env() -> dict[str, str]:
    """This process's environment less every `BOOKPAY_*` variable, for the servers and
    migrations the bench starts: each sets the Bookpay settings it means explicitly, so an
    exported one (say `BOOKPAY_FAKE_STRIPE_LATENCY_MS`) cannot change a figure unseen.
    `BOOKPAY_BENCH_POSTGRES_URL` is the bench's own setting, read here, never a server's."""
    return {name: value for name, value in os.environ.items() if not name.startswith("BOOKPAY_")}


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def connect_postgres(database_url: str | None = None) -> asyncpg.Connection:
    """A connection to the database of `database_url` (by default POSTGRES_SERVER's: where
    the bench creates and drops its throwaway databases), as its user, with its password if
    the URL has one."""
    url = make_url(database_url or POSTGRES_SERVER)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )


async def _postgres_admin(statement: str) -> None:
    connection = await connect_postgres()
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def empty_postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database named `prefix` and a random suffix,
    dropped afterwards (its connections ended)."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def throwaway_database(kind: str) -> Iterator[str]:
    """A fresh, migrated database URL, dropped (or deleted) afterwards."""
    if kind == "postgres":
        with empty_postgres_database("bookpay_bench_") as url:
            _migrate(url)
            yield url
    else:
        folder = Path(tempfile.mkdtemp(prefix="bookpay_bench_"))
        url = f"sqlite+aiosqlite:///{folder / 'bookpay.db'}"
        try:
            _migrate(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _migrate(url: str) -> None:
    env = {
        **inherited_env(),
        "BOOKPAY_DATABASE_URL": url,
        "BOOKPAY_GATEWAY": "fake",
        # The load comes from one address; the bench measures throughput, not the limiter.
        "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "0",
    }
    subprocess.run([str(BOOKPAY), "migrate"], env=env, check=True, capture_output=True)

    async def create_calibration_table() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(calibration.metadata.create_all)
        finally:
            await engine.dispose()

    asyncio.run(create_calibration_table())


def with_engine(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` with an engine of its own, in a fresh event loop, and dispose of it."""

    async def run() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())
