"""Queue mode's drain (BOOKPAY_WEBHOOK_MODE=queue): after a storm acknowledged, how long
until the server's worker had applied every kept webhook, read from the table of pending
events (`received_events`: a row per event kept and not yet applied)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.checks import Checks
from bench.common import log, with_engine

if TYPE_CHECKING:
    from bench.storms import StormResult

# The longest the run waits for the queue to empty after the last answer: the storm's
# 10,000 events unpaced, or the latency storm's few hundred at the default pace, drain in
# well under it; past it the queue is stuck, and the run fails.
DRAIN_LIMIT_SECONDS = 300.0
DRAIN_POLL_SECONDS = 0.1


async def drained_after(engine: AsyncEngine, limit_seconds: float) -> tuple[float | None, int]:
    """(seconds until `received_events` was empty, or None past `limit_seconds`; the rows
    pending at the first look). Each count its own statement (autocommit), so that the
    watcher holds no transaction open meanwhile."""
    started = time.perf_counter()
    backlog: int | None = None
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        while True:
            left = int(
                (
                    await autocommit.execute(text("SELECT count(*) FROM received_events"))
                ).scalar_one()
            )
            backlog = left if backlog is None else backlog
            waited = time.perf_counter() - started
            if left == 0:
                return waited, backlog
            if waited > limit_seconds:
                return None, backlog
            await asyncio.sleep(DRAIN_POLL_SECONDS)


def wait_for_drain(url: str) -> tuple[float | None, int]:
    """drained_after on the database `url`, within DRAIN_LIMIT_SECONDS."""
    return with_engine(url, lambda engine: drained_after(engine, DRAIN_LIMIT_SECONDS))


def settle_queue(result: StormResult, url: str, measured: dict[str, Any], checks: Checks) -> None:
    """After a queue-mode storm's last answer: wait for the drain and record it in
    `result.drain`; check that the queue emptied and that the answers were acknowledgements
    (`queued`), none applied in the request (the mode was on)."""
    waited, backlog = wait_for_drain(url)
    answered = float(result.figure.get("seconds") or 0.0)
    sent = int(measured.get("events_sent") or result.events)
    drained = waited is not None
    seconds = answered + (waited if waited is not None else 0.0)
    result.drain = {
        "seconds": seconds,
        "applied_per_second": sent / max(seconds, 1e-9),
        "backlog": float(backlog),
        "drained": 1.0 if drained else 0.0,
    }
    log(
        f"  {result.name}: {backlog:,} events kept but not applied at the last answer; "
        + (
            f"queue empty {seconds:.1f} s after the first request ({sent / seconds:.0f} events "
            "applied per second)"
            if drained
            else f"NOT empty {DRAIN_LIMIT_SECONDS:.0f} s after the last answer"
        )
    )
    checks.expect(
        drained,
        f"{result.name}: the queue drained (received_events "
        + (
            f"empty {seconds:.1f} s after the first request"
            if drained
            else f"NOT empty within {DRAIN_LIMIT_SECONDS:.0f} s of the last answer"
        )
        + ")",
    )
    outcomes = result.outcomes
    listed = ", ".join(f"{name}: {count:,}" for name, count in sorted(outcomes.items()))
    checks.expect(
        outcomes.get("queued", 0) > 0 and outcomes.get("applied", 0) == 0,
        f"{result.name}: answered queued, none applied in the request (outcomes "
        f"{listed or 'none read'})",
    )
