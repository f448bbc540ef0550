"""A dialect's statements are built once per process (issue 19): building them costs tens
of milliseconds of CPU, which the events-out relay's units of work (made without a
factory, one per delivery round) paid again each time."""

from __future__ import annotations

from pathlib import Path

from adapters.sql.database import create_engine
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
