"""The webhook queue's worker: apply the received events, each exactly once.

Events kept by AcknowledgeWebhook are claimed under a lease (so that a worker that dies
leaves them to another), read back from their verified body, and applied by the same
ApplyPaymentEvent as the request path, a few at once; more are claimed as they end, so a
slow call to the gateway holds back no other. Exactly once is
decided by the webhook inbox inside each effect's transaction: after a crash between the
effect and `done`, the event is claimed again once its lease runs out, answered `duplicate`
by the inbox (no gateway call) and forgotten. An event that fails (the gateway unavailable,
the database, anything) is kept and tried again after a backoff that grows with its
attempts, up to MAX_BACKOFF.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.payment_events import EventApplied
from application.ports.gateway import PaymentGateway
from application.ports.gateway_events import PaymentEvent
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import ReceivedEvent
from application.uow import UnitOfWorkFactory

log = logging.getLogger("bookpay.webhook_queue")

# What a worker claimed and did not finish (its process was killed, not stopped) goes to
# another after this: the events wait that long. Long enough that an event still being
# applied (one Stripe call gives up after 30 s, adapters/stripe/client.py) is rarely claimed
# twice, and when it is, the inbox answers the second `duplicate`.
LEASE = timedelta(minutes=2)
BATCH = 32
# Events of a batch applied at once: enough to keep the paced gateway busy while each call
# waits for Stripe, few enough to leave most of the pool's connections to the requests.
CONCURRENCY = 8
FIRST_BACKOFF = timedelta(seconds=1)
MAX_BACKOFF = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try (1, 2, …): doubling from FIRST_BACKOFF,
    never more than MAX_BACKOFF."""
    doubled: timedelta = FIRST_BACKOFF * 2 ** min(max(attempts, 1) - 1, 20)
    return min(doubled, MAX_BACKOFF)


def _short(error: Exception) -> str:
    """The error's type and the first line of its message, at most 200 characters (a
    database error's SQL and parameters come on later lines)."""
    message = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
    return text[:200]


@dataclass(frozen=True, slots=True)
class Drained:
    """What one drain did: events applied or found applied (`done`), and kept for later."""

    done: int = 0
    retried: int = 0


class ApplyReceivedEvents:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        apply_event: Callable[[PaymentEvent], Awaitable[EventApplied]],
        clock: Clock,
        *,
        lease: timedelta = LEASE,
        batch: int = BATCH,
        concurrency: int = CONCURRENCY,
    ) -> None:
        """`gateway` reads the kept bodies back; `apply_event` is the worker's own
        ApplyPaymentEvent (its gateway paced to Stripe's limits by the composition root)."""
        self._uow = uow
        self._gateway = gateway
        self._apply = apply_event
        self._clock = clock
        self._lease = lease
        self._batch = batch
        self._concurrency = concurrency

    async def __call__(self) -> Drained:
        """Apply what is due until nothing else is. At most `batch` events are claimed and
        `concurrency` applied at once; more are claimed once half the claimed have ended,
        not when all have: one slow call to the gateway holds back no other."""
        done = retried = 0
        at_once = asyncio.Semaphore(self._concurrency)
        running: dict[asyncio.Task[Exception | None], ReceivedEvent] = {}
        more = True
        while True:
            if more and len(running) <= self._batch // 2:
                wanted = self._batch - len(running)
                claimed = await self._claim(wanted)
                more = len(claimed) == wanted
                for received in claimed:
                    running[asyncio.create_task(self._applied(received, at_once))] = received
            if not running:
                return Drained(done, retried)
            ended, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            settled = [(running.pop(task), task.result()) for task in ended]
            await self._settle(settled)
            failed = sum(1 for _, error in settled if error is not None)
            done, retried = done + len(settled) - failed, retried + failed

    async def _claim(self, limit: int) -> list[ReceivedEvent]:
        async with self._uow() as uow:
            claimed = await uow.received_events.claim(self._clock.now(), self._lease, limit)
            await uow.commit()
        return claimed

    async def _applied(
        self, received: ReceivedEvent, at_once: asyncio.Semaphore
    ) -> Exception | None:
        """None once applied (or found applied); else the error, to try again later."""
        try:
            event = self._gateway.read_event(received.payload, received.endpoint)
            async with at_once:
                outcome: EventApplied = await self._apply(event)
            log.debug("received event %s: %s", received.event_id, outcome.outcome)
        except Exception as error:
            return error
        return None

    async def _settle(self, settled: list[tuple[ReceivedEvent, Exception | None]]) -> None:
        async with self._uow() as uow:
            for received, error in settled:
                if error is None:
                    await uow.received_events.done(received.event_id)
                    continue
                at: datetime = self._clock.now() + backoff(received.attempts)
                reason = _short(error)
                await uow.received_events.retry_later(received.event_id, at, reason)
                log.warning(
                    "received event %s not applied (attempt %d): %s; next try at %s",
                    received.event_id,
                    received.attempts,
                    reason,
                    at.isoformat(),
                )
            await uow.commit()
