"""Serve this tree without two later features of other issues, for measurement only: the
third side of `python -m bench.before_after` ("head without the later features").

    python -m bench.as_before serve --port 8001 --workers N

Between issue 18's base (94bff09) and head, two features of other issues landed on purpose,
and each makes every webhook do more work. This launcher takes both away in its own process,
then runs `bookpay` as installed:

- Issue 12 (7697043): every checkout-session event is checked against the session fetched
  from the gateway, even one that matches its booking. Here, as at the base, the session is
  fetched only when the event contradicts its booking (`domain.payment.contradiction`);
  otherwise the event is applied as sent.
- Events out (e5ed235): a confirmed booking writes its `booking.confirmed` event to the
  outbox in the same transaction, reading the booking's ledger to render it. Here the
  outbox's flush discards its pending events and writes nothing.

And it serves on the event loop and HTTP parser the base serves on (asyncio's own and h11),
not on uvloop and httptools, which head declares since d650b69 (entrypoints/cli.py
`uvicorn_options`): the server stack is held equal, so head-without against the base is
issue 18's restructuring and what else changed in the same code, not a faster loop.

Two cuts of issue 19 that make a request cheaper than at the base are put back to the
base's cost too (`take_later_cuts_away`):

- Pings (fad9f3e): the base pinged every pooled PostgreSQL connection before each checkout
  of it (SQLAlchemy's `pool_pre_ping=True`, 94bff09 adapters/database.py; with asyncpg a
  ping is BEGIN, `;` and ROLLBACK); head pings only one idle for more than
  PING_AFTER_IDLE_SECONDS (adapters/sql/pings.py). Here the threshold is below any idle
  time, so every checkout pings, with the same dialect ping pool_pre_ping calls: the app's
  engine and the fake Stripe's (which at the base drew on the app's pool, so its
  connections were pinged too). SQLite was never pinged, at the base or in head.
- The count of a customer's unpaid bookings that every checkout makes (4a67069, 3d11d71,
  migrations 0020 and 0021): head compares the indexed `customer_email_lower`; the base
  compared `lower(customer_email)`, which no index covers, and so read every unpaid booking
  of the tenant (94bff09 adapters/sqlalchemy_repositories.py). Here the count is the
  base's statement. The index stays in the database; the statement cannot use it beyond
  its (tenant, status) prefix, the rows the base's index on (tenant, status, hold's end)
  found. It costs more here than at the base on PostgreSQL: head runs it as `bookpay_app`
  under row-level security (issue 14), whose tenant policy is then judged on every one of
  those rows too (bench/findings.md has the EXPLAIN). So head-without's checkout on
  PostgreSQL pays the base's read and issue 14's policy on each row it reads: it errs
  against head-without, never hides a cost.

Not put back, and why:
- The fake Stripe's one-statement read of a session with its payment intent (d9a187b): the
  base's fake read the session alone, in one statement (94bff09 adapters/fake_gateway.py
  `retrieve_checkout_session`, `_state.load`); the intent's read came with issue 12
  (08263d4, two reads), and d9a187b made those one. There is no cheaper read to undo, and
  with the check above a matching event here does not ask the gateway at all.
- The webhook's NUL check and the currency fast path (7c238cf, eb3ebe5), the prebuilt
  statements (36653c8, a0b03a9) and the heap frozen at start (7db6d14): CPU cuts made as
  issue 18's own work, part of what is measured.

Nothing in the product changes: the patches live in this process and never in a file. Never
serve anything real with it (events are taken on their word, no event goes out). With one
worker `bookpay serve` runs the server in this process (entrypoints/cli.py); with several,
uvicorn starts each worker with multiprocessing's spawn, which runs this module again in
the worker under the name `__mp_main__` before the worker imports the app: the worker
patches itself there. Every patched process prints BANNER once, so a server with N > 1
workers logs it N + 1 times (`banners`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import func, select

from adapters.sql import database, orm
from adapters.sql.bookings import SqlAlchemyBookingRepository
from adapters.sql.outbox import SqlAlchemyOutbox
from application.payment_events import bus
from application.payment_events.checks import Check, GatewayStep, as_sent
from application.ports.gateway_events import (
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    CheckoutCompleted,
    CheckoutExpired,
    CheckoutSessionEvent,
    PaymentEvent,
)
from application.ports.unit_of_work import UnitOfWork
from domain.booking import BookingStatus
from domain.payment import contradiction

SESSION_EVENTS: tuple[type[PaymentEvent], ...] = (
    CheckoutCompleted,
    AsyncPaymentSucceeded,
    AsyncPaymentFailed,
    CheckoutExpired,
)
# The server's log shows it, so the bench can tell the patched server from the real one.
BANNER = (
    "bench.as_before: checkout-session events fetched only on contradiction; outbox off; "
    "pinged at every checkout; unpaid bookings counted unindexed; "
    "asyncio's loop and h11, as the base"
)
# What the base served on: uvicorn's defaults without uvloop and httptools installed.
BASE_SERVER = {"loop": "asyncio", "http": "h11"}
# An idle threshold no connection is within (pings.ping_when_idle skips a connection idle
# for at most the threshold): every checkout pings, as pool_pre_ping did at the base.
PING_AT_EVERY_CHECKOUT = -math.inf
_PING_THRESHOLD = "PING_AFTER_IDLE_SECONDS"


def as_the_base_serves(options: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """`uvicorn_options`, with the base's event loop and HTTP parser."""

    def base_options(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**options(*args, **kwargs), **BASE_SERVER}

    return base_options


def fetched_only_on_contradiction(check: Check) -> Check:
    """`check`, but only for an event that contradicts its booking (the base's rule): one
    that matches it, or names no booking, is returned as sent without asking the gateway."""

    async def checked(event: CheckoutSessionEvent, reading: UnitOfWork) -> GatewayStep:
        booking = await reading.bookings.find_by_gateway_session(event.session_id)
        tenant = None if booking is None else await reading.tenants.get(booking.tenant_id)
        if booking is None or tenant is None:
            return as_sent(event)
        if contradiction(booking, tenant, event.account_id, event.amount_total) is None:
            return as_sent(event)
        return await check(event, reading)

    return checked


async def _write_nothing(self: SqlAlchemyOutbox) -> None:
    self.discard()


def take_later_features_away() -> Callable[[], None]:
    """Session events fetched only on contradiction, and the outbox writes nothing, in this
    process; returns what puts both back."""
    checks, flush = bus.CHECKS, SqlAlchemyOutbox.flush
    bus.CHECKS = {
        **checks,
        **{kind: fetched_only_on_contradiction(checks[kind]) for kind in SESSION_EVENTS},
    }
    SqlAlchemyOutbox.flush = _write_nothing  # type: ignore[method-assign]

    def restore() -> None:
        bus.CHECKS = checks
        SqlAlchemyOutbox.flush = flush  # type: ignore[method-assign]

    return restore


def _pinged_at_every_checkout() -> Callable[[], None]:
    """Engines made from now on ping each pooled PostgreSQL connection at every checkout
    (create_engine reads the threshold when it makes one); returns what puts it back."""
    # create_engine reads the name from its own module's globals, where pings.py's value
    # was imported.
    names = vars(database)
    threshold = names[_PING_THRESHOLD]
    names[_PING_THRESHOLD] = PING_AT_EVERY_CHECKOUT

    def restore() -> None:
        names[_PING_THRESHOLD] = threshold

    return restore


async def _count_pending_as_the_base(
    self: SqlAlchemyBookingRepository, tenant_id: str, email: str
) -> int:
    """The base's statement: the address folded on both sides, so no index of head's
    covers the comparison."""
    bookings = orm.bookings.c
    count = await self._connection.scalar(
        select(func.count())
        .select_from(orm.bookings)
        .where(
            bookings.tenant_id == tenant_id,
            bookings.status == BookingStatus.PENDING_PAYMENT.value,
            func.lower(bookings.customer_email) == email.lower(),
        )
    )
    return int(count or 0)


def _unpaid_counted_as_the_base() -> Callable[[], None]:
    """A checkout counts the customer's unpaid bookings with the base's statement; returns
    what puts head's back."""
    count = SqlAlchemyBookingRepository.count_pending_for_customer
    SqlAlchemyBookingRepository.count_pending_for_customer = _count_pending_as_the_base  # type: ignore[method-assign]

    def restore() -> None:
        SqlAlchemyBookingRepository.count_pending_for_customer = count  # type: ignore[method-assign]

    return restore


def take_later_cuts_away() -> Callable[[], None]:
    """Pings at every checkout and the unindexed count, in this process (the module's
    docstring says why); returns what puts both back."""
    restores = (_pinged_at_every_checkout(), _unpaid_counted_as_the_base())

    def restore() -> None:
        for one in reversed(restores):
            one()

    return restore


@contextmanager
def _taken_away(take: Callable[[], Callable[[], None]]) -> Iterator[None]:
    """Within: what `take` takes away; put back on the way out."""
    restore = take()
    try:
        yield
    finally:
        restore()


def later_cuts_off() -> AbstractContextManager[None]:
    """Within: the later cuts taken away; both restored on the way out (tests)."""
    return _taken_away(take_later_cuts_away)


def later_features_off() -> AbstractContextManager[None]:
    """Within: the later features taken away; both restored on the way out (tests)."""
    return _taken_away(take_later_features_away)


def banners(workers: int) -> int:
    """How many times a server of `workers` workers logs BANNER: once when one worker runs
    in the launcher's process, else once for the launcher and once for each worker."""
    return 1 if workers <= 1 else workers + 1


def _serves(args: list[str]) -> bool:
    return bool(args) and args[0] == "serve"


def main() -> None:
    args = sys.argv[1:]
    if not _serves(args):
        sys.exit("bench.as_before: runs `bookpay serve` only")
    from entrypoints import cli

    cli.uvicorn_options = as_the_base_serves(cli.uvicorn_options)
    with later_features_off(), later_cuts_off():
        print(BANNER, flush=True)
        cli.main(args)


def _worker() -> None:
    """A worker process of `serve --workers N`: patched for good before it serves (its
    loop and parser come in the configuration its parent made)."""
    take_later_features_away()
    take_later_cuts_away()
    print(BANNER, flush=True)


if __name__ == "__main__":
    main()
elif __name__ == "__mp_main__":
    _worker()
