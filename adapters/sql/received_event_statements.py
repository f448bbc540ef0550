"""The prebuilt statements of received events (adapters/sql/received_events.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, delete, func, or_, select, update
from sqlalchemy.sql.elements import BindParameter

from adapters.sql import orm

_r = orm.received_events.c


class ReceivedEventStatements:
    """Built once per engine (adapters/sql/statements.py); parameters prefixed r_."""

    def __init__(self) -> None:
        now: BindParameter[Any] = bindparam("r_now")
        queued = orm.received_events.alias("queued").c
        # A CTE, not `IN (subquery)`: with FOR UPDATE it is evaluated once, so the UPDATE
        # never claims more than the LIMIT (as the sweeper's claim, adapters/sql/bookings.py).
        # On PostgreSQL it skips the rows another claim is taking right now (SKIP LOCKED),
        # and once that claim commits its lease excludes them; SQLite has one writer.
        picked = (
            select(queued.event_id)
            .where(
                queued.next_attempt_at <= now,
                or_(queued.claimed_until.is_(None), queued.claimed_until <= now),
            )
            .order_by(queued.next_attempt_at, queued.received_at, queued.event_id)
            .limit(bindparam("r_limit", type_=Integer))
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        self.claim = (
            update(orm.received_events)
            .where(_r.event_id == picked.c.event_id)
            .values(claimed_until=bindparam("r_until"), attempts=_r.attempts + 1)
            .returning(
                _r.event_id,
                _r.endpoint,
                _r.payload,
                _r.received_at,
                _r.attempts,
                _r.next_attempt_at,
            )
        )
        self.done = delete(orm.received_events).where(_r.event_id == bindparam("r_event_id"))
        self.retry_later = (
            update(orm.received_events)
            .where(_r.event_id == bindparam("r_event_id"))
            .values(
                next_attempt_at=bindparam("r_at"),
                claimed_until=None,
                last_error=bindparam("r_error"),
            )
        )
        self.depth = select(func.count(), func.min(_r.received_at)).select_from(orm.received_events)
