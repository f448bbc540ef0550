"""Issue 19, item 4: behind PgBouncer in transaction pooling mode (tools/pgbouncer.py, two
server connections for many client connections) the engine built with
`transaction_pooler=True` keeps nothing beyond a transaction: concurrent transactions and
"autocommit" reads all run, and an autocommit request gets a transaction."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from adapters.sql.database import create_engine
from tools.pgbouncer import running_pgbouncer

pytestmark = pytest.mark.postgres


async def _work(url: str) -> list[int]:
    engine = create_engine(url, transaction_pooler=True)

    async def one(n: int) -> int:
        async with engine.connect() as connection:
            if n % 2:
                # What a unit of work's read_only() asks for: still a transaction here.
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            first = await connection.execute(text("SELECT CAST(:n AS integer)"), {"n": n})
            second = await connection.execute(
                text("SELECT CAST(:n AS integer) + CAST(:m AS integer)"), {"n": n, "m": 1}
            )
            # One transaction (in autocommit, each txid_current() would be a transaction of
            # its own), so all four statements ran on the same server connection.
            same = await connection.execute(text("SELECT txid_current()"))
            again = await connection.execute(text("SELECT txid_current()"))
            assert same.scalar_one() == again.scalar_one()
            await connection.commit()
            return int(first.scalar_one()) + int(second.scalar_one())

    try:
        return list(await asyncio.gather(*(one(n) for n in range(40))))
    finally:
        await engine.dispose()


def test_transactions_and_autocommit_requests_run_through_transaction_pooling(
    fresh_postgres_url: str,
) -> None:
    with running_pgbouncer(fresh_postgres_url, pool_size=2) as bouncer:
        results = asyncio.run(_work(bouncer.url_for(fresh_postgres_url)))
    assert results == [2 * n + 1 for n in range(40)]
