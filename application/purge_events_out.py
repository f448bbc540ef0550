"""Forget events out once they are done with: delivered or failed deliveries, and the
outbox events no delivery needs any more, older than the retention (`bookpay deliver`, and
every few minutes in each server process). Pending deliveries and their events are kept
however old, so nothing is lost that could still be sent."""

from __future__ import annotations

from datetime import timedelta

from application.manage_webhook_endpoints import EventsOutUnitOfWorkFactory
from application.ports.time_and_identity import Clock

DEFAULT_RETENTION = timedelta(days=30)


class PurgeEventsOut:
    def __init__(
        self,
        uow: EventsOutUnitOfWorkFactory,
        clock: Clock,
        *,
        retention: timedelta | None = DEFAULT_RETENTION,
        batch: int = 1000,
    ) -> None:
        """`retention` None keeps everything; `batch`: rows deleted per transaction (short
        transactions: the relay and the routes are not held up)."""
        self._uow = uow
        self._clock = clock
        self._retention = retention
        self._batch = batch

    async def __call__(self) -> int:
        """The number of rows deleted (deliveries and events)."""
        if self._retention is None:
            return 0
        before = self._clock.now() - self._retention
        purged = 0
        while True:
            async with self._uow() as uow:
                deleted = await uow.deliveries.purge(before, self._batch)
                await uow.commit()
            purged += deleted
            if deleted == 0:
                return purged
