"""One OS process of the multi-process seat race (run by test_concurrency.py).

    python -m tests.integration.persistence.seat_grabber URL TENANT_ID SLOT_ID ATTEMPTS

Opens ATTEMPTS connections, prints "ready", waits for a line on stdin (the start signal
shared by every process), then tries to hold one seat on each connection at once and
prints how many holds succeeded.
"""

from __future__ import annotations

import asyncio
import sys

from adapters.sql.database import create_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork


async def _grab(url: str, tenant_id: str, slot_id: str, attempts: int) -> int:
    engine = create_engine(url, pool_size=attempts)
    ready = asyncio.Barrier(attempts + 1)
    go = asyncio.Event()

    async def attempt() -> bool:
        async with SqlAlchemyUnitOfWork(engine) as uow:  # checks out a connection
            await ready.wait()
            await go.wait()
            held = await uow.slots.try_hold(tenant_id, slot_id, 1)
            await uow.commit()
            return held

    try:
        racers = [asyncio.create_task(attempt()) for _ in range(attempts)]
        await ready.wait()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        go.set()
        results = await asyncio.gather(*racers)
    finally:
        await engine.dispose()
    return sum(results)


def main() -> None:
    url, tenant_id, slot_id, attempts = sys.argv[1:5]
    print(asyncio.run(_grab(url, tenant_id, slot_id, int(attempts))), flush=True)


if __name__ == "__main__":
    main()
