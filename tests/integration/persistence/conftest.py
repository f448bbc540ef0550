"""One `backend` fixture for every repository test: in-memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from adapters.sql.database import create_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.ports.unit_of_work import UnitOfWork
from tests.fakes.database import InMemoryDatabase

BACKENDS = [
    pytest.param("memory"),
    pytest.param("sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@dataclass
class Backend:
    name: str
    uow: Callable[[], UnitOfWork]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    name: str = request.param
    if name == "memory":
        return name, None
    return name, request.getfixturevalue(f"{name}_url")


@pytest.fixture
async def backend(backend_url: tuple[str, str | None]) -> AsyncIterator[Backend]:
    name, url = backend_url
    if url is None:
        yield Backend(name, InMemoryDatabase().unit_of_work)
        return
    engine = create_engine(url)
    try:
        yield Backend(name, SqlAlchemyUnitOfWorkFactory(engine))
    finally:
        await engine.dispose()
