"""Issue 14, "What was seen" 2: NUL characters broke PostgreSQL (it stores no NUL in text),
and the other bad inputs were tried on SQLite only. The same cases on PostgreSQL, with
row-level security in force (issue 14, brief "edges" 1): each is a 400 problem at the
edge, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.sql import orm
from adapters.sql.database import create_engine
from tests.integration.http import test_hard_edges as hard
from tests.support.app_client import AppClient
from tests.support.hard_edges import Edge
from tests.support.http_app import BASE_URL, build_test_app

pytestmark = pytest.mark.postgres


async def test_bad_input_is_refused_at_the_edge_on_postgresql(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    app, container = build_test_app(tmp_path, migrated_postgres_url)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        edge = Edge(client, container)
        await hard.test_nul_characters_are_refused_at_the_edge(edge)
        await hard.test_invalid_utf8_in_a_json_body_is_a_bad_request(edge)
        await hard.test_a_deeply_nested_signed_webhook_is_a_bad_request(edge)
        for cursor in ("", "!!!", "e30"):
            await hard.test_a_malformed_cursor_is_a_bad_request(edge, cursor)
        for moment in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:04:00+03:00"):
            await hard.test_a_time_without_offset_or_out_of_range_is_a_bad_request(edge, moment)
    # On a connection of this test's own (the app's pool belongs to the client's loop).
    engine = create_engine(migrated_postgres_url)
    try:
        async with engine.connect() as connection:
            kept = await connection.scalar(select(func.count()).select_from(orm.idempotency_keys))
    finally:
        await engine.dispose()
    assert kept == 0
