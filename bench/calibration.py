"""The ceiling: a tiny Litestar app served like Bookpay (uvicorn, same workers, same engine).

`GET /json` answers a constant JSON object: the cost of the HTTP stack alone.
`POST /insert` inserts one row in one transaction through SQLAlchemy async, with the engine
Bookpay itself builds (`adapters.sql.database.create_engine`, so the same pool and, on SQLite,
the same WAL / BEGIN IMMEDIATE settings): the cost of one durable write.

Run with `uvicorn bench.calibration:create_app --factory`; BOOKPAY_DATABASE_URL names the
database, whose `bench_calibration` table the runner creates beforehand.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from litestar import Litestar, get, post
from sqlalchemy import Column, DateTime, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import create_engine

metadata = MetaData()
calibration_rows = Table(
    "bench_calibration",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("note", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def create_app() -> Litestar:
    # Behind PgBouncer with the same setting as Bookpay (BOOKPAY_DB_TRANSACTION_POOLER).
    pooler = os.environ.get("BOOKPAY_DB_TRANSACTION_POOLER", "").lower() == "true"
    engine: AsyncEngine = create_engine(
        os.environ["BOOKPAY_DATABASE_URL"], transaction_pooler=pooler
    )

    @get("/json", sync_to_thread=False)
    def bare_json() -> dict[str, object]:
        return {"ok": True, "service": "calibration"}

    @post("/insert", status_code=201)
    async def insert_one(data: dict[str, str]) -> dict[str, str]:
        row_id = uuid.uuid4().hex
        async with engine.begin() as connection:
            await connection.execute(
                calibration_rows.insert().values(
                    id=row_id, note=str(data.get("note", ""))[:200], created_at=datetime.now(UTC)
                )
            )
        return {"id": row_id}

    async def dispose() -> None:
        await engine.dispose()

    return Litestar(route_handlers=[bare_json, insert_one], on_shutdown=[dispose])
