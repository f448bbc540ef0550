"""A dialect's statements are built once per process (issue 19): building them costs tens
of milliseconds of CPU, which the events-out relay's units of work (made without a
factory, one per delivery round) paid again each time. Once built, each is compiled once:
SQLAlchemy caches a statement's compiled form by its cache key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.cache_key import CacheKey, HasCacheKey

from adapters.sql.database import create_engine
from adapters.sql.statements import statements_for
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory
from adapters.sql.webhook_endpoints import SqlAlchemyEventsOutUnitOfWork


async def test_units_of_work_share_their_dialects_statements(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        built = {
            id(SqlAlchemyUnitOfWork(engine)._statements),
            id(SqlAlchemyUnitOfWork(engine)._statements),
            id(SqlAlchemyUnitOfWorkFactory(engine)()._statements),
            id(SqlAlchemyEventsOutUnitOfWork(engine)._inner._statements),
        }
    finally:
        await engine.dispose()

    assert len(built) == 1


def _cache_key(statement: Executable) -> CacheKey | None:
    assert isinstance(statement, HasCacheKey)
    return statement._generate_cache_key()


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_every_prebuilt_statement_is_looked_up_not_compiled_again(dialect: str) -> None:
    # A statement without a cache key is compiled on every execution, as a multi-row
    # INSERT … VALUES is (the ledger's, on every paid booking): prebuilt, it must have one.
    statements = statements_for(dialect)
    prebuilt = {
        name: value
        for name, value in [*vars(statements).items(), *vars(statements.bookings).items()]
        if isinstance(value, Executable)
    }
    prebuilt |= {f"ledger_insert({n})": statements.ledger_insert(n) for n in (1, 2, 3)}

    uncached = sorted(name for name, s in prebuilt.items() if _cache_key(s) is None)

    assert {"ledger_for_booking", "parked_for_payment", "outbox_insert"} <= prebuilt.keys()
    assert uncached == []
