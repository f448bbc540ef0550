"""One cache of compiled SQL for every engine a test process makes.

SQLAlchemy keeps the statements it compiled per engine, keyed by the engine's dialect, so
each new engine compiles every statement again (a fraction of a millisecond each). A
production process has one engine and compiles each statement once; a test process makes
an engine per test (a new database, a new app container), and compiling came to about a
sixth of the CPU time of the HTTP tests. Here engines whose dialects compile alike (the
same dialect class and server version, the same JSON codecs) share their compiled
statements, through the documented `compiled_cache` execution option.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.util import LRUCache

_CAPACITY = 5000


class SharedCompiledCache:
    """A compiled-statement cache whose keys name a dialect by what its compilation depends
    on, not by the engine that made it."""

    def __init__(self, capacity: int = _CAPACITY) -> None:
        self._cache: LRUCache[Any, Any] = LRUCache(capacity)
        self._dialects: dict[tuple[Any, ...], Dialect] = {}

    def _key(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect = key[0]
        alike = (
            type(dialect),
            dialect.server_version_info,
            dialect.paramstyle,
            dialect.label_length,
            getattr(dialect, "_json_serializer", None),
            getattr(dialect, "_json_deserializer", None),
        )
        return (self._dialects.setdefault(alike, dialect), *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._cache.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        self._cache[self._key(key)] = value

    def __len__(self) -> int:
        return len(self._cache)


SHARED = SharedCompiledCache()


def _share(connection: Connection) -> None:
    connection.execution_options(compiled_cache=SHARED)


def share_compiled_statements() -> None:
    """From now on, every engine of this process uses SHARED (idempotent)."""
    if not event.contains(Engine, "engine_connect", _share):
        event.listen(Engine, "engine_connect", _share)
