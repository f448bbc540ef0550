"""Pooled PostgreSQL connections are pinged before use only after they sat idle.

SQLAlchemy's `pool_pre_ping` pings on every checkout; with the asyncpg dialect a ping is
BEGIN, `;` and ROLLBACK (a transaction, so that it works through PgBouncer in transaction
mode): 3 round trips before every unit of work, a large share of a webhook's round trips
as `python -m bench.roundtrips` counts them (issue 19; the count is in bench/findings.md).
A connection another request gave back a moment ago was working then; one that sat idle
may have been closed by the server (restart, failover, idle timeout). So only a connection
idle for longer than PING_AFTER_IDLE_SECONDS is pinged; one that fails its ping is replaced
by a new one (SQLAlchemy retries the checkout on DisconnectionError). A server that goes
away while a connection is busy or freshly returned fails that request as before: the API
answers 503 and SQLAlchemy replaces the pool's connections.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

PING_AFTER_IDLE_SECONDS = 5.0
_LAST_USED = "bookpay_last_used"  # key in the pool entry's info: time.monotonic()


def ping_when_idle(engine: AsyncEngine, after_seconds: float) -> None:
    """Ping a connection at checkout when it was last used more than `after_seconds` ago."""
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    def used_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last <= after_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: replace the connection, then try it
            raise sqlalchemy.exc.DisconnectionError(str(error)) from error
        record.info[_LAST_USED] = time.monotonic()

    event.listen(sync_engine, "connect", used_now)
    event.listen(sync_engine, "checkin", used_now)
    event.listen(sync_engine, "checkout", ping_if_idle)
