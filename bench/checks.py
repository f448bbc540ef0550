"""The correctness checks `make bench` asserts: a broken guarantee fails the run.

Throughput may miss its target (the report says so); a webhook applied twice, an overbooked
slot, a pool timeout or an unexpected error may not: `Checks.expect` records each check, and
`bench.run` exits non-zero after writing the report when any failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import orm
from bench.common import log
from bench.servers import Server

# What SQLAlchemy says when a request waited for a pooled connection longer than allowed.
POOL_TIMEOUT_MARKERS = ("QueuePool limit", "TimeoutError")


@dataclass
class Checks:
    """Every correctness check of the run: (what, held?)."""

    results: list[tuple[str, bool]] = field(default_factory=list)

    def expect(self, ok: bool, what: str) -> bool:
        self.results.append((what, ok))
        if not ok:
            log(f"CHECK FAILED: {what}")
        return ok

    @property
    def failures(self) -> list[str]:
        return [what for what, ok in self.results if not ok]

    def no_errors(self, figure: dict[str, Any], where: str) -> bool:
        """No transport error and no unexpected status in a load's figure, its warm-up
        included (not timed, but an error there is still an error)."""
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(figure.get("statuses", {}).items()))
        warmup = int(figure.get("warmup_errors", 0))
        return self.expect(
            figure["errors"] == 0 and warmup == 0,
            f"{where}: no errors ({figure['errors']} errors, {warmup} during the warm-up; "
            f"statuses {statuses})",
        )

    def no_pool_timeout(self, server: Server, figures: list[dict[str, Any]], where: str) -> bool:
        """No request waited out the connection pool: no 503 answered, none logged."""
        answered = sum(
            int(f.get(key, {}).get("503", 0))
            for f in figures
            for key in ("statuses", "warmup_statuses")
        )
        text = server.log_text()
        logged = sum(text.count(marker) for marker in POOL_TIMEOUT_MARKERS)
        # Which pools ran out (the app's or the fake Stripe's: by their size).
        pools = sorted(set(re.findall(r"QueuePool limit of size \d+", text)))
        return self.expect(
            answered == 0 and logged == 0,
            f"{where}: no pool timeout ({answered} answers 503, {logged} timeouts logged"
            + (f": {', '.join(pools)}" if pools else "")
            + ")",
        )


async def overbooked_slots(engine: AsyncEngine) -> int:
    """Slots of the database whose held and booked seats together exceed their capacity."""
    s = orm.slots.c
    async with engine.connect() as connection:
        result = await connection.execute(
            select(func.count()).where(s.held + s.booked > s.capacity)
        )
        return int(result.scalar_one())


async def seats_taken(engine: AsyncEngine, tenant_id: str, offering_id: str) -> tuple[int, int]:
    """(held + booked seats, capacity) summed over an offering's slots."""
    s = orm.slots.c
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(
                    func.coalesce(func.sum(s.held + s.booked), 0),
                    func.coalesce(func.sum(s.capacity), 0),
                ).where(s.tenant_id == tenant_id, s.offering_id == offering_id)
            )
        ).one()
        return int(row[0]), int(row[1])


async def still_pending(engine: AsyncEngine, tenant_id: str, booking_ids: list[str]) -> set[str]:
    """Those of `booking_ids` still awaiting payment (their completion not applied)."""
    b = orm.bookings.c
    async with engine.connect() as connection:
        result = await connection.execute(
            select(b.id).where(
                b.tenant_id == tenant_id,
                b.id.in_(booking_ids),
                b.status == "pending_payment",
            )
        )
        return set(result.scalars())
