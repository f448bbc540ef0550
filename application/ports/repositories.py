"""Persistence ports for a sale's aggregates: bookings, ledger entries, disputes (the
catalogue's — tenants, offerings, slots — are in catalogue.py).

Every tenant-owned read and write takes the tenant (see the note below).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.errors import ApplicationError, Conflict
from domain.booking import Booking, BookingStatus
from domain.booking import PaymentStatus as BookingPaymentStatus
from domain.dispute import Dispute
from domain.ledger import LedgerEntry, StatementLine

# --- Persistence ---------------------------------------------------------------------
# Every tenant-owned read and write takes the tenant. The only lookups without one are
# by identifiers the outside world hands us and that are globally unique (an API key's
# hash, a gateway account, session or payment id, the booking id a customer's link
# carries): that is how a request or a webhook finds its tenant in the first place.


class AlreadyExists(Conflict):
    """A record with the same identity is already stored."""


class ConcurrentUpdate(Conflict):
    """The record changed since this unit of work read it; roll back, retry with a fresh one."""


class InvalidCursor(ApplicationError):
    """A page cursor that this server did not hand out."""


@dataclass(frozen=True, slots=True)
class BookingPage:
    """One page of bookings, newest first; `next_cursor` is None on the last page."""

    items: tuple[Booking, ...]
    next_cursor: str | None


class BookingRepository(Protocol):
    """A tenant's bookings; an update of a booking changed meanwhile is a ConcurrentUpdate."""

    async def add(self, booking: Booking) -> None:
        """Store a new booking; AlreadyExists when its id is taken."""
        ...

    async def count_pending_for_customer(self, tenant_id: str, email: str) -> int:
        """How many of the tenant's bookings still hold seats unpaid (pending_payment) for
        this customer email, compared without regard to case."""
        ...

    async def add_holding_seats(self, booking: Booking) -> bool:
        """Store a new pending booking together with the hold on its seats: both or neither.

        The hold is `SlotRepository.try_hold`'s: False, holding and storing nothing, when
        the seats do not fit (or the slot is cancelled). AlreadyExists, holding nothing,
        when the booking's id is taken.
        """
        ...

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        """The tenant's booking with this id, or None."""
        ...

    async def update(self, booking: Booking) -> None:
        """Save a changed booking; ConcurrentUpdate when it changed since it was read."""
        ...

    async def attach_session(self, tenant_id: str, booking_id: str, session_id: str) -> bool:
        """Attach the checkout session to the booking where `Booking.attach_session` allows
        it and it changes the booking (pending payment, no session yet); atomic by itself.

        A change of the booking: a copy read before it is then a ConcurrentUpdate. False,
        changing nothing, when the booking is missing, no longer pending payment, or
        already has a session (this one or another).
        """
        ...

    async def on_slot(self, tenant_id: str, slot_id: str) -> list[Booking]:
        """The slot's bookings that still hold or book seats, oldest first."""
        ...

    async def find_by_id(self, booking_id: str) -> Booking | None:
        """A booking by its id alone (ids are global), for its customer's token link."""
        ...

    async def find_by_gateway_session(self, session_id: str) -> Booking | None:
        """The booking a checkout session was opened for (session ids are global)."""
        ...

    async def find_by_payment_intent(self, payment_intent_id: str) -> Booking | None:
        """The booking a payment belongs to (payment ids are global)."""
        ...

    async def claim_lapsed_holds(
        self,
        tenant_id: str,
        as_of: datetime,
        *,
        now: datetime,
        claim_until: datetime,
        limit: int = 100,
    ) -> list[Booking]:
        """Claim the tenant's bookings whose hold has lapsed at `as_of`, oldest hold first.

        A hold has lapsed when it still holds seats and `domain.hold.hold_lapsed` says so
        at `as_of` (at or after its end).

        Each booking returned is claimed for the caller until `claim_until`; bookings that
        another caller's claim covers at `now` are skipped, not waited for. So sweepers in
        several processes share the work instead of each asking the gateway about every
        hold. A claim is not a lock: it never blocks a webhook, and it ends by itself.
        """
        ...

    async def tenants_with_lapsed_holds(self, as_of: datetime) -> list[str]:
        """Ids of the tenants with bookings whose hold has lapsed at `as_of` (as in
        `claim_lapsed_holds`), ordered."""
        ...

    async def with_refunds_due(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant id, booking id) of bookings whose refunds have not converged yet.

        Those with a refund reserved but not confirmed by the gateway (Booking.unknown_refunds),
        and those the system cancelled that are not refunded in full yet, not even by a
        reservation (Booking.owes_system_refund). Ordered by the pair; across tenants.
        """
        ...

    # `list` comes last: in the class body below it, `list[...]` would name this method.
    async def list(
        self,
        tenant_id: str | None,
        *,
        statuses: Collection[BookingStatus] = (),
        payment_statuses: Collection[BookingPaymentStatus] = (),
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> BookingPage:
        """The tenant's bookings (every tenant's when `tenant_id` is None: the platform's
        support work) matching every filter given, newest first, one page."""
        ...


class LedgerRepository(Protocol):
    """Ledger entries, each recorded once per (gateway_ref, kind)."""

    async def add(self, entry: LedgerEntry) -> bool:
        """Record an entry; False (and nothing stored) when its gateway_ref+kind already is."""
        ...

    async def add_all(self, entries: Iterable[LedgerEntry]) -> list[bool]:
        """Record several entries with one write, each as `add` would; one flag per entry.

        False (and nothing stored for it) where the entry's gateway_ref+kind already is
        recorded, or appears earlier in the same call.
        """
        ...

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[LedgerEntry]:
        """The booking's entries, oldest first (charge before fee before refunds at a tie)."""
        ...

    async def statement(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        currency: str | None = None,
    ) -> list[StatementLine]:
        """The tenant's entries created in [since, until) summed per currency."""
        ...


class DisputeRepository(Protocol):
    """Disputes of bookings' payments, each recorded once by its gateway id.

    They are written with their booking (`BookingRepository.update` stores the booking's
    disputes); this port reads them across bookings.
    """

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[Dispute]:
        """The booking's disputes, oldest first."""
        ...

    async def with_pending_recoveries(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant id, booking id) of bookings with a lost dispute's recovery reserved but
        not yet confirmed by the gateway."""
        ...
