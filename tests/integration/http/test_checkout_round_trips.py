"""What a checkout sends to PostgreSQL, with and without row-level security.

A checkout has two units of work: one holds the seats with the booking, one attaches the
session. Each is a transaction, with the BEGIN and COMMIT the asyncpg dialect sends as
exchanges of their own. Without row-level security (a login bound by the policies itself,
`BOOKPAY_DATABASE_ROLE=""`) the BEGIN is a plain one. Under row-level security (the
default) the role and the tenant scope last one transaction, and each unit enters its
scope with its BEGIN (one simple query, adapters/sql/row_scope.py `ScopedConnection`): the
wall costs no exchange of its own. bench/roundtrips.py counts the same through a real
server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg.connection
import asyncpg.prepared_stmt
import pytest

from adapters.sql.row_scope import acting_for_platform
from application.start_checkout import StartCheckoutCommand
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import open_shop

pytestmark = pytest.mark.postgres

# A public request's transactions act for the platform.
SCOPED_BEGIN = (
    "BEGIN; SELECT set_config('role', 'bookpay_app', true), "
    "set_config('bookpay.tenant_id', '*', true)"
)


@pytest.fixture
def exchanges(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Messages asyncpg exchanges with the server: executions of prepared statements, and
    simple queries by their text ("BEGIN;", "COMMIT;", "ROLLBACK;")."""
    counts: Counter[str] = Counter()

    def counted(owner: Any, name: str, key: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[str(args[1]).strip() if key == "simple" else key] += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counted(asyncpg.connection.Connection, "execute", "simple")
    counted(asyncpg.prepared_stmt.PreparedStatement, "_PreparedStatement__do_execute", "executes")
    return counts


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        pytest.param("", {"executes": 4, "BEGIN;": 2, "COMMIT;": 2}, id="no-row-level-security"),
        pytest.param(
            "bookpay_app",
            {"executes": 4, "BEGIN;": 0, SCOPED_BEGIN: 2, "COMMIT;": 2},
            id="row-level-security",
        ),
    ],
)
async def test_a_checkout_sends_its_statements(
    tmp_path: Path,
    migrated_postgres_url: str,
    exchanges: Counter[str],
    role: str,
    expected: dict[str, int],
) -> None:
    app, container = build_test_app(tmp_path, migrated_postgres_url, database_role=role)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
    # The app's engine is disposed with its lifespan; the use case's connects anew here.
    start_checkout = container.start_checkout()

    async def checkout(email: str) -> None:
        with acting_for_platform():  # as a public request declares
            await start_checkout(StartCheckoutCommand(shop.slug, shop.slot_id, 1, email))

    await checkout("warm@example.com")  # connection set up, statement caches warm
    exchanges.clear()
    await checkout("counted@example.com")
    await container.engine().dispose()
    # Reading the tenant, slot and offering; counting the customer's holds; holding the
    # seats with the booking; attaching the session; a BEGIN and a COMMIT for each of the
    # two units (under row-level security, each BEGIN enters the unit's scope).
    assert {kind: exchanges[kind] for kind in expected} == expected, exchanges


async def test_other_units_of_work_stay_transactions(
    tmp_path: Path, migrated_postgres_url: str, exchanges: Counter[str]
) -> None:
    """Without row-level security, too, a unit of work begins and commits."""
    _, container = build_test_app(tmp_path, migrated_postgres_url, database_role="")
    for _ in range(2):  # the first connects and prepares
        exchanges.clear()
        async with container.uow()() as uow:
            await uow.tenants.get("tn_none")
            await uow.commit()
    assert exchanges["executes"] == 1, exchanges
    assert exchanges["COMMIT;"] == 1, exchanges
    await container.engine().dispose()
