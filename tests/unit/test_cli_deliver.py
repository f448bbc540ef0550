"""`bookpay deliver` runs the relay once, then purges the events out that are finished and
older than the retention (`BOOKPAY_OUTBOUND_RETENTION_DAYS`), on a real SQLite database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, func, insert, select

from adapters.sql.database import create_engine
from adapters.sql.events_out_tables import outbox_events, webhook_deliveries
from entrypoints import cli

OLD = datetime.now(UTC) - timedelta(days=8)


async def _seed(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for n, status in enumerate(("delivered", "failed", "pending")):
                event = {"tenant_id": "tn_1", "id": f"evt_{n}", "type": "slot.cancelled"}
                await connection.execute(
                    insert(outbox_events),
                    {**event, "created_at": OLD, "body": b"{}", "dispatched": True},
                )
                await connection.execute(
                    insert(webhook_deliveries),
                    {
                        "tenant_id": "tn_1",
                        "id": f"dlv_{n}",
                        "event_id": f"evt_{n}",
                        "endpoint_id": "we_gone",  # deleted: the pending one fails
                        "type": "slot.cancelled",
                        "status": status,
                        "attempts": 1,
                        "next_attempt_at": OLD + timedelta(days=1) if status == "pending" else None,
                        "created_at": OLD,
                    },
                )
    finally:
        await engine.dispose()


async def _count(url: str, table: Table) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int(
                (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("days", "left"), [("7", 0), ("9", 3), ("0", 3)])
def test_deliver_purges_finished_rows_older_than_the_retention(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    days: str,
    left: int,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deliver.db'}"
    monkeypatch.setenv("BOOKPAY_DATABASE_URL", url)
    monkeypatch.setenv("BOOKPAY_OUTBOUND_RETENTION_DAYS", days)
    cli.main(["migrate"])
    asyncio.run(_seed(url))

    cli.main(["deliver"])

    out = capsys.readouterr().out.splitlines()[-1]
    # The pending delivery of a deleted endpoint was tried: failed, then purged with the rest.
    assert "1 deliveries tried" in out, out
    assert asyncio.run(_count(url, webhook_deliveries)) == left
    assert asyncio.run(_count(url, outbox_events)) == left
    assert out.endswith(f"; {6 - 2 * left} finished rows purged"), out
