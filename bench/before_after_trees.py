"""The trees of `python -m bench.before_after`: this one (head), the same served through
bench/as_before.py (head without the later features), and an older commit (base) checked
out into a temporary git worktree with a venv of its own; for each, a database migrated by
its own migrations, its own `bookpay serve`, the webhook bookings seeded by its own bench
code, and the checks all must pass (plain SQL on the tables the schemas share, so the same
check reads them all).

Every subprocess here runs git, a venv's own executables or its bookpay with arguments
built here.
"""

# ruff: noqa: S603, S607

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.checks import audit_seats
from bench.common import (
    BIN,
    POLICY,
    PRICE,
    ROOT,
    SERVING_PACKAGES,
    empty_postgres_database,
    free_port,
    inherited_env,
    log,
    with_engine,
)
from bench.report_header import tree_state
from bench.seed import BenchTenant
from bench.servers import Server, server_env, start_server, stop_server

# The side that is head without the later features (bench/as_before.py).
WITHOUT = "head-without"
# The packages whose versions the report shows for each tree (a tree may lack some).
PACKAGES = SERVING_PACKAGES

# Seeds the webhook bookings with the tree's own bench/seed.py, run by the tree's own
# Python in the tree's folder; the one place that knows where each layout keeps the engine.
_SEED = """
import asyncio, json, sys
try:
    from adapters.sql.database import create_engine
except ImportError:  # the layout before issue 18
    from adapters.database import create_engine
from bench.seed import BenchTenant, seed_pending_bookings
from domain.fees import FeePolicy
from domain.money import Money

job = json.load(sys.stdin)
currency = job["currency"]
tenant = BenchTenant(
    tenant_id=job["tenant_id"], slug=job["slug"], offering_id=job["offering_id"],
    slot_ids=job["slot_ids"], price=Money(job["price"], currency),
    policy=FeePolicy(percent_bps=job["percent_bps"], fixed=Money(job["fixed"], currency)),
)

async def seed():
    engine = create_engine(job["url"])
    try:
        return await seed_pending_bookings(engine, tenant, job["count"])
    finally:
        await engine.dispose()

json.dump(asyncio.run(seed()), sys.stdout)
"""


@dataclass(frozen=True)
class Tree:
    name: str
    root: Path
    bin: Path
    commit: str
    # The module that serves it (`python -m LAUNCHER serve …`); None: its own `bookpay`.
    launcher: str | None = None

    @property
    def env(self) -> dict[str, str]:
        """What the tree's processes inherit: no `BOOKPAY_*`, the tree's folder first."""
        return {**inherited_env(), "PYTHONPATH": str(self.root)}


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def head_tree() -> Tree:
    commit = tree_state(
        _git("rev-parse", "--short", "HEAD"), _git("status", "--porcelain", "--untracked-files=no")
    )
    return Tree("head", ROOT, BIN, commit)


def head_without_tree() -> Tree:
    """This tree and venv again, served by bench/as_before.py: without two features and
    two cuts other issues added on purpose (see its docstring), for measurement only."""
    return Tree(WITHOUT, ROOT, BIN, head_tree().commit, launcher="bench.as_before")


@contextmanager
def base_tree(commit: str, prepared: Path | None = None) -> Iterator[Tree]:
    """`commit` checked out (detached) into a temporary worktree with its own venv, made as
    that commit's `make install` makes it (its requirements.lock, then itself editable);
    both removed afterwards. With `prepared`: a tree made so before, used and kept."""
    if prepared is not None:
        short = _git("rev-parse", "--short", "HEAD", cwd=prepared)
        yield Tree("base", prepared, prepared / ".venv" / "bin", short)
        return
    short = _git("rev-parse", "--short", commit)
    folder = Path(tempfile.mkdtemp(prefix="bookpay_before_after_"))
    root = folder / "tree"
    try:
        log(f"base {short}: git worktree add --detach {root}")
        _git("worktree", "add", "--detach", str(root), commit)
        venv = root / ".venv"
        log("base: python3.11 -m venv .venv; pip install its requirements.lock and itself")
        subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--no-deps"]
        for arguments in (["--require-hashes", "-r", "requirements.lock"], ["-e", "."]):
            subprocess.run(
                [*pip, "--no-build-isolation", *arguments],
                cwd=root,
                check=True,
                capture_output=True,
            )
        yield Tree("base", root, venv / "bin", short)
    finally:
        log("base: git worktree remove --force; the temporary folder removed")
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(root)], cwd=ROOT, capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True)


@contextmanager
def tree_database(tree: Tree, database: str = "postgres") -> Iterator[str]:
    """A fresh database migrated by the tree's own `bookpay migrate`: a PostgreSQL database
    (`database` "postgres"), dropped afterwards, or an SQLite file in a folder of its own
    ("sqlite"), deleted afterwards."""
    with _empty_database(tree, database) as url:
        env = {**tree.env, "BOOKPAY_DATABASE_URL": url, "BOOKPAY_GATEWAY": "fake"}
        subprocess.run(
            [str(tree.bin / "bookpay"), "migrate"],
            env=env,
            cwd=tree.root,
            check=True,
            capture_output=True,
        )
        yield url


@contextmanager
def _empty_database(tree: Tree, database: str) -> Iterator[str]:
    if database == "postgres":
        with empty_postgres_database(f"bookpay_ba_{tree.name}_") as url:
            yield url
        return
    if database != "sqlite":
        raise ValueError(f"unknown database {database!r}")
    folder = Path(tempfile.mkdtemp(prefix=f"bookpay_ba_{tree.name}_"))
    try:
        yield f"sqlite+aiosqlite:///{folder / 'bookpay.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def serving(tree: Tree, url: str, settings: dict[str, str], workers: int = 1) -> Iterator[Server]:
    """The tree's `bookpay serve` (through its launcher, when it has one) with `workers`
    workers, the bench's settings (fake gateway, limits and sweeps off:
    bench.servers.server_env) and `settings` over them, from the tree's folder."""
    port = free_port()
    serve = [str(tree.bin / "bookpay")]
    if tree.launcher is not None:
        serve = [str(tree.bin / "python"), "-m", tree.launcher]
    command = [*serve, "serve", "--port", str(port), "--workers", str(workers)]
    env = {**server_env(url, port), **settings, "PYTHONPATH": str(tree.root)}
    server = start_server("bookpay", command, env, port, cwd=tree.root)
    try:
        yield server
    finally:
        stop_server(server)


def seed_webhook_bookings(
    tree: Tree, url: str, tenant: BenchTenant, count: int
) -> list[dict[str, Any]]:
    """`count` pending bookings for the webhook load, written by the tree's own bench seed
    (its schema, and for head the fake Stripe's sessions it checks events against), then
    ANALYZE on the whole database, as a serving database has its statistics."""
    job = {
        "url": url,
        "count": count,
        "tenant_id": tenant.tenant_id,
        "slug": tenant.slug,
        "offering_id": tenant.offering_id,
        "slot_ids": tenant.slot_ids,
        "price": PRICE.amount,
        "currency": PRICE.currency,
        "percent_bps": POLICY.percent_bps,
        "fixed": POLICY.fixed.amount if POLICY.fixed else 0,
    }
    done = subprocess.run(
        [str(tree.bin / "python"), "-c", _SEED],
        input=json.dumps(job),
        env=tree.env,
        cwd=tree.root,
        check=True,
        capture_output=True,
        text=True,
    )
    pending: list[dict[str, Any]] = json.loads(done.stdout)

    async def analyze(engine: AsyncEngine) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))

    with_engine(url, analyze)
    return pending


def versions(tree: Tree) -> dict[str, str]:
    """Python's and PACKAGES' versions in the tree's venv ('not installed' for one it lacks)."""
    script = (
        "import json, platform; from importlib.metadata import version, PackageNotFoundError\n"
        "def v(p):\n"
        "    try:\n"
        "        return version(p)\n"
        "    except PackageNotFoundError:\n"
        "        return 'not installed'\n"
        f"print(json.dumps({{'Python': platform.python_version(), "
        f"**{{p: v(p) for p in {PACKAGES!r}}}}}))"
    )
    done = subprocess.run(
        [str(tree.bin / "python"), "-c", script], check=True, capture_output=True, text=True
    )
    found: dict[str, str] = json.loads(done.stdout)
    return found


@dataclass(frozen=True)
class Answers:
    """What one tree answered to one availability GET and one checkout, before the loads."""

    availability_status: int
    slots_shown: int
    slots_all_the_tenants: bool
    slot_fields: tuple[str, ...]
    checkout_status: int
    checkout_fields: tuple[str, ...]

    @property
    def as_expected(self) -> bool:
        return (
            self.availability_status == 200
            and self.slots_shown > 0
            and self.slots_all_the_tenants
            and self.checkout_status == 201
            and "checkout_url" in self.checkout_fields
        )


def probe(server: Server, tenant: BenchTenant) -> Answers:
    base = server.base_url
    slots = httpx.get(
        f"{base}/v1/public/{tenant.slug}/offerings/{tenant.offering_id}/slots", timeout=30
    )
    shown = slots.json().get("data", []) if slots.status_code == 200 else []
    checkout = httpx.post(
        f"{base}/v1/public/{tenant.slug}/checkout",
        json={
            "slot_id": tenant.slot_ids[0],
            "seats": 1,
            "customer": {"email": "probe@example.com", "name": "Probe Customer"},
        },
        timeout=30,
    )
    body = checkout.json() if checkout.headers.get("content-type", "").endswith("json") else {}
    return Answers(
        slots.status_code,
        len(shown),
        all(slot.get("id") in tenant.slot_ids for slot in shown),
        tuple(sorted(shown[0])) if shown else (),
        checkout.status_code,
        tuple(sorted(body)),
    )


@dataclass(frozen=True)
class Outcome:
    """The database after the loads, read with the same SQL on both trees."""

    sent: int
    confirmed: int
    confirmed_not_sent: int
    charge_entries: int
    bookings_charged: int
    inbox_records: int
    slots_off: int

    @property
    def webhooks_exactly_once(self) -> bool:
        return (
            self.confirmed == self.sent == self.charge_entries == self.bookings_charged
            and self.inbox_records == self.sent
            and self.confirmed_not_sent == 0
        )


def outcome(url: str, tenant_id: str, sent_ids: set[str]) -> Outcome:
    """Every webhook booking sent is confirmed with one charge and one inbox record, none
    other is; every slot's held and booked counters equal its bookings' seats (the bench's
    seat audit, whose columns both schemas have). The same SQL on PostgreSQL and SQLite."""

    seats = with_engine(url, audit_seats)

    async def read(engine: AsyncEngine) -> Outcome:
        async with engine.connect() as connection:
            confirmed = set(
                (
                    await connection.execute(
                        text(
                            "SELECT id FROM bookings WHERE tenant_id = :tenant "
                            "AND status = 'confirmed' AND id LIKE 'bk_whbench_%'"
                        ),
                        {"tenant": tenant_id},
                    )
                ).scalars()
            )
            charges = (
                await connection.execute(
                    text(
                        "SELECT count(*) AS entries, count(DISTINCT booking_id) AS bookings "
                        "FROM ledger_entries WHERE tenant_id = :tenant AND kind = 'charge'"
                    ),
                    {"tenant": tenant_id},
                )
            ).one()
            inbox = (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM webhook_inbox WHERE event_id LIKE 'evt_bk_whbench_%'"
                    )
                )
            ).scalar_one()
        return Outcome(
            sent=len(sent_ids),
            confirmed=len(confirmed),
            confirmed_not_sent=len(confirmed - sent_ids),
            charge_entries=int(charges.entries),
            bookings_charged=int(charges.bookings),
            inbox_records=int(inbox),
            slots_off=seats.miscounted,
        )

    return with_engine(url, read)


def events_out_written(url: str, tenant_id: str) -> int:
    """The tenant's events in the outbox (a table head's schema has, the base's not)."""

    async def read(engine: AsyncEngine) -> int:
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT count(*) FROM outbox_events WHERE tenant_id = :tenant"),
                {"tenant": tenant_id},
            )
            return int(found.scalar_one())

    return with_engine(url, read)
