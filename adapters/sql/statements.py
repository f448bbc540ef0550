"""Statements shared by the SQL repositories: inserts that ignore duplicates, the database's now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

# Hot statements are built once and executed with their values as parameters: building
# one per call (`insert(table).values(**values)`, `select(...).where(column == value)`)
# cost more CPU than its round trip (coercions, bind parameters, cache keys; see
# bench/findings.md), while a prebuilt statement only looks its compiled form up.
_INSERTS_IGNORING_DUPLICATES: dict[tuple[str, str], Insert] = {}


def _insert_ignoring_duplicates(connection: AsyncConnection, table: Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING <first key column>, in the connection's
    dialect, built once per table; execute it with the row's values as parameters."""
    dialect = connection.dialect.name
    statement = _INSERTS_IGNORING_DUPLICATES.get((dialect, table.name))
    if statement is None:
        first_key = next(iter(table.primary_key.columns))
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table).on_conflict_do_nothing().returning(first_key)
        _INSERTS_IGNORING_DUPLICATES[dialect, table.name] = statement
    return statement


async def _insert_once(
    connection: AsyncConnection, table: Table, values: Mapping[str, Any]
) -> bool:
    """Insert a row unless one with the same key exists; True when this call inserted it."""
    result = await connection.execute(_insert_ignoring_duplicates(connection, table), values)
    return result.first() is not None


def _now() -> datetime:
    return datetime.now(UTC)
