"""Refund and dispute events parked before their payment, checked and applied once it landed.

Stripe does not keep order: a `charge.refunded` or `charge.dispute.*` can arrive before the
completion of the checkout that made the charge. It is parked then, unchecked: no booking
is paid with its payment yet, so the account to ask about it is not known
(application/payment_events/aftermath.py). Once a booking is paid with the payment (its
completion committed), each parked event goes through the same check as a direct one
(application/payment_events/aftermath_facts.py: the payment is fetched from the gateway
and its refunds and disputes decide) and is then applied, oldest first, each in its own
transaction with its removal from the parked events, so it is applied exactly once even
when two processes drain the same payment.

An event the gateway's facts refute is dropped and logged, never applied. When the gateway
cannot be asked, the event stays parked and reconciliation drains it later
(application/reconcile.py), so nothing parked is applied unchecked and nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from application.errors import GatewayError
from application.payment_events.outcome import EventApplied, Outcome
from application.payment_events.session_facts import Refuted
from application.ports.gateway_events import PaymentAftermath, PaymentEvent
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory

log = logging.getLogger("bookpay.payments")

Check = Callable[[PaymentEvent], Awaitable[PaymentEvent]]
Apply = Callable[[UnitOfWork, PaymentEvent], Awaitable[EventApplied]]


async def apply_parked(
    payment_intent_id: str, uow: UnitOfWorkFactory, check: Check, apply: Apply
) -> list[EventApplied]:
    """Check and apply the events parked for the payment, when a booking is paid with it.

    What each event came to, in order (`ignored` for one the gateway refutes); none when no
    booking is paid with the payment yet. Stops at the first event whose check could not
    ask the gateway (a GatewayError other than its refusal, which refutes): it and the
    later ones stay parked for the next drain (reconciliation), in order. Raises nothing
    of the gateway's.
    """
    async with uow() as reading:
        if await reading.bookings.find_by_payment_intent(payment_intent_id) is None:
            return []
        parked = await reading.parked_events.for_payment(payment_intent_id)
    outcomes: list[EventApplied] = []
    for event in parked:
        try:
            checked = await check(event)
        except Refuted as refuted:
            log.warning("parked event %s is not applied: %s", event.event_id, refuted)
            if await _unpark(uow, event):
                outcomes.append(EventApplied(Outcome.IGNORED, detail=str(refuted)))
            continue
        except GatewayError as error:
            log.info("parked event %s left for reconciliation: %s", event.event_id, error)
            break
        async with uow() as writing:
            if not await writing.parked_events.remove(event.event_id):
                continue  # another process took it
            applied = await apply(writing, checked)
            await writing.commit()
        outcomes.append(applied)
    return outcomes


async def _unpark(uow: UnitOfWorkFactory, event: PaymentAftermath) -> bool:
    async with uow() as writing:
        removed = await writing.parked_events.remove(event.event_id)
        await writing.commit()
    return removed
