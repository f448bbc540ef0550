"""Fixtures every test directory may ask for: the databases (tests.support.databases), and
the pool of in-process HTTP apps that build_test_app lends (tests.support.http_app)."""

import gc
import os
import sys
import tempfile
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

# Every test's files (a copy of the migrated SQLite database, its WAL) are throwaway: in a
# memory file system where there is one (and TMPDIR names none), SQLite's syncs and file
# creations cost no disk round trips. pytest's tmp_path root follows tempfile's (a folder of
# the user's own there), and tempfile makes names nobody can guess, as under /tmp.
MEMORY_FILES = "/dev/shm"  # noqa: S108
if "TMPDIR" not in os.environ and os.path.isdir(MEMORY_FILES) and os.access(MEMORY_FILES, os.W_OK):
    tempfile.tempdir = MEMORY_FILES

# Bytecode caches (gitignored) even where PYTHONDONTWRITEBYTECODE is set: without them every
# xdist worker, and every server a test starts, compiles every module of Bookpay and pytest
# rewrites every test module again, run after run.
sys.dont_write_bytecode = False

# The tests make objects by the million that die within a request or a step (requests,
# rows, events). At Python's default (a young generation of 700) the cyclic collector ran
# every few hundred of them, each time finding alive what was merely in use and moving it
# on to the older generations, which later passes walk again: a larger young generation
# lets most of them die uncollected.
gc.set_threshold(20_000, 10, 10)

# A local test server speaks no TLS here; asyncpg's default (sslmode "prefer") asks it for
# TLS first on every new connection, after building a TLS context: about half of what a
# connection costs, and the tests open thousands. Not for a server elsewhere, nor where
# PGSSLMODE is set already (a local server that wants TLS: PGSSLMODE=require).
_TEST_SERVER = urlsplit(os.environ.get("BOOKPAY_TEST_DATABASE_URL", "postgresql://127.0.0.1"))
if _TEST_SERVER.hostname in {"127.0.0.1", "localhost", "::1"}:
    os.environ.setdefault("PGSSLMODE", "disable")

FIXTURE_PLUGINS = ("tests.support.http_app", "tests.support.databases")
# Their asserts are rewritten as a plugin's, whichever conftest imports them first.
pytest.register_assert_rewrite(*FIXTURE_PLUGINS)


def pytest_configure(config: pytest.Config) -> None:
    # The fixture modules import the whole app (about 2 s of CPU). Under pytest-xdist the
    # controller runs no test, so only the workers (and a run without workers) import them:
    # the controller's start, before any worker starts, is that much shorter.
    distributing = (
        config.getoption("dist", "no") != "no"
        and bool(config.getoption("tx", None))
        and not config.getoption("collectonly")
    )
    if hasattr(config, "workerinput") or not distributing:
        # Hypothesis (which the collection imports anyway) comes first: its import asks
        # trio to register a PRNG, which runs a whole cyclic collection (cheap while little
        # is loaded), then looks for the PRNG's referrers among the objects not frozen.
        import hypothesis  # noqa: F401

        for name in FIXTURE_PLUGINS:
            config.pluginmanager.import_plugin(name)
        from tests.support.compiled_cache import share_compiled_statements

        share_compiled_statements()
        # The app's modules live until the process ends: out of the cyclic collector's sight
        # (gc.freeze), every later collection skips them.
        gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    # What the imports and the collection made lives until the process ends: out of the
    # cyclic collector's sight (gc.freeze), every collection during the tests, and the
    # several that pytest runs at the session's end, traverse only what the tests make.
    gc.collect()
    gc.freeze()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    # A full collection traverses every object not frozen: what the tests keep (caches, the
    # pooled apps) piles up, and each of the cyclic collector's full passes walked all of it
    # again. Once a module's tests and its module fixtures are done, its garbage is collected
    # and what lives on is frozen, so later passes walk only what the tests since then made.
    yield
    if nextitem is None or nextitem.path != item.path:
        gc.collect()
        gc.freeze()


def pytest_sessionfinish() -> None:
    # What was frozen while the tests ran and became garbage since is collected at the end
    # (pytest's last collection, which reports what it finds unraisable).
    gc.unfreeze()


# The quick loop (-m "not slow") runs the HTTP and Gherkin business scenarios on SQLite only;
# their PostgreSQL copies (the `[postgres…]` parameter of an engine fixture under these
# folders) are marked slow here, so `make test` still runs every one. They ask the same
# questions of the same use cases and adapters, and cost the server about as much CPU again
# as the tests themselves on a 2-core machine. PostgreSQL stays in the quick loop for every
# test about SQL, row-level security, concurrency or the pooler: all of tests/integration/
# persistence and gateway, the PostgreSQL-only HTTP tests (row security over HTTP, hard edges
# on PostgreSQL, the sick database, round trips, the fake Stripe's pool; no engine
# parameter), and the tests marked `race`, whose outcome depends on PostgreSQL's locking.
_BUSINESS_FOLDERS = ("tests/integration/http/", "tests/bdd/http/")


def _a_business_scenario_on_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is None or "postgres" not in callspec.id.split("-"):
        return False
    path = item.nodeid.split("::")[0]
    return path.startswith(_BUSINESS_FOLDERS) and item.get_closest_marker("race") is None


def pytest_itemcollected(item: pytest.Item) -> None:
    # Before any pytest_collection_modifyitems: -m "not slow" must see the marker.
    if _a_business_scenario_on_postgres(item):
        item.add_marker(pytest.mark.slow)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The long tests (marked slow: races, many processes, real servers) start first, the
    # rest keep their order: under `--dist worksteal` the last minutes are then many short
    # tests both workers share, instead of one chaos or browser test one worker runs alone
    # while the other has finished. Every worker collects the same order.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
