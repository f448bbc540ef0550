"""In-memory repositories and unit of work, for fast use-case tests.

They keep the promises of the ports, the database ones included: changes are invisible to
other units of work until committed, leaving without a commit rolls back, seat changes are
conditional, and units of work on one `InMemoryDatabase` are serialised like SQLite's
write transactions, so no hold can be lost between two of them.

    database = InMemoryDatabase()
    use_case = StartCheckout(database.unit_of_work, ...)
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from domain.events import Event
from tests.fakes.bookings import InMemoryBookingRepository
from tests.fakes.events_out import InMemoryOutbox
from tests.fakes.received_events import InMemoryReceivedEvents
from tests.fakes.slots import InMemorySlotRepository
from tests.fakes.stores import (
    InMemoryDisputeRepository,
    InMemoryIdempotencyStore,
    InMemoryLedgerRepository,
    InMemoryParkedEvents,
    InMemoryWebhookInbox,
)
from tests.fakes.tables import Tables
from tests.fakes.tenants import InMemoryOfferingRepository, InMemoryTenantRepository


class InMemoryDatabase:
    """The committed state shared by every unit of work made from it."""

    def __init__(self) -> None:
        self.committed = Tables()
        # Events out, as committed (tests/fakes/events_out.py).
        self.events_out: list[Event] = []
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._owner: asyncio.Task[object] | None = None

    def unit_of_work(self) -> InMemoryUnitOfWork:
        """A fresh unit of work on this database (a `UnitOfWorkFactory`)."""
        return InMemoryUnitOfWork(self)

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise RuntimeError("a unit of work is already open in this task; nesting deadlocks")
        await self._lock.acquire()
        self._owner = task

    def _release(self) -> None:
        self._owner = None
        if self._lock is not None and self._lock.locked():
            self._lock.release()


class InMemoryUnitOfWork:
    """A working copy of the database's tables, published by `commit()`."""

    def __init__(self, database: InMemoryDatabase | None = None) -> None:
        self.database = database or InMemoryDatabase()
        self.commits = 0
        self._working: Tables | None = None

    def _open(self) -> None:
        tables = self._working = self.database.committed.copy()
        self._tenants = InMemoryTenantRepository(tables)
        self._offerings = InMemoryOfferingRepository(tables)
        self._slots = InMemorySlotRepository(tables)
        self._bookings = InMemoryBookingRepository(tables)
        self._ledger = InMemoryLedgerRepository(tables)
        self._disputes = InMemoryDisputeRepository(tables)
        self._inbox = InMemoryWebhookInbox(tables)
        self._received = InMemoryReceivedEvents(tables)
        self._parked = InMemoryParkedEvents(tables)
        self._idempotency = InMemoryIdempotencyStore(tables)
        self._outbox = InMemoryOutbox()

    def _active(self) -> Tables:
        if self._working is None:
            raise RuntimeError("use the unit of work inside `async with uow:`")
        return self._working

    def read_only(self) -> Self:
        """Nothing to save here: the unit of work stays a transaction."""
        if self._working is not None:
            raise RuntimeError("read_only() comes before `async with`")
        return self

    async def __aenter__(self) -> Self:
        if self._working is not None:
            raise RuntimeError("this unit of work is already in use; take a fresh one")
        await self.database._acquire()
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._working = None
        self.database._release()

    async def commit(self) -> None:
        working = self._active()
        self.database.committed = working
        self.database.events_out.extend(self._outbox.pending)
        self.commits += 1
        versions = self._bookings._versions
        self._open()
        self._bookings._versions = versions

    async def rollback(self) -> None:
        self._active()
        self._open()

    @property
    def tenants(self) -> InMemoryTenantRepository:
        self._active()
        return self._tenants

    @property
    def offerings(self) -> InMemoryOfferingRepository:
        self._active()
        return self._offerings

    @property
    def slots(self) -> InMemorySlotRepository:
        self._active()
        return self._slots

    @property
    def bookings(self) -> InMemoryBookingRepository:
        self._active()
        return self._bookings

    @property
    def ledger(self) -> InMemoryLedgerRepository:
        self._active()
        return self._ledger

    @property
    def disputes(self) -> InMemoryDisputeRepository:
        self._active()
        return self._disputes

    @property
    def webhook_inbox(self) -> InMemoryWebhookInbox:
        self._active()
        return self._inbox

    @property
    def received_events(self) -> InMemoryReceivedEvents:
        self._active()
        return self._received

    @property
    def parked_events(self) -> InMemoryParkedEvents:
        self._active()
        return self._parked

    @property
    def idempotency(self) -> InMemoryIdempotencyStore:
        self._active()
        return self._idempotency

    @property
    def outbox(self) -> InMemoryOutbox:
        self._active()
        return self._outbox
