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

Nothing in the product changes: the patches live in this process and never in a file. Never
serve anything real with it (events are taken on their word, no event goes out). With one
worker `bookpay serve` runs the server in this process (entrypoints/cli.py); with several,
uvicorn starts each worker with multiprocessing's spawn, which runs this module again in
the worker under the name `__mp_main__` before the worker imports the app: the worker
patches itself there. Every patched process prints BANNER once, so a server with N > 1
workers logs it N + 1 times (`banners`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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
    "asyncio's loop and h11, as the base"
)
# What the base served on: uvicorn's defaults without uvloop and httptools installed.
BASE_SERVER = {"loop": "asyncio", "http": "h11"}


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


@contextmanager
def later_features_off() -> Iterator[None]:
    """Within: the later features taken away; both restored on the way out (tests)."""
    restore = take_later_features_away()
    try:
        yield
    finally:
        restore()


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
    with later_features_off():
        print(BANNER, flush=True)
        cli.main(args)


def _worker() -> None:
    """A worker process of `serve --workers N`: patched for good before it serves (its
    loop and parser come in the configuration its parent made)."""
    take_later_features_away()
    print(BANNER, flush=True)


if __name__ == "__main__":
    main()
elif __name__ == "__mp_main__":
    _worker()
