"""Record what a `charge.dispute.*` event tells on the booking paid with the disputed charge.

The booking (domain) applies the dispute's snapshot: newer than the one it has, or
nothing. The ledger gets what the gateway reports the dispute moved — the funds withdrawn
or reinstated and Stripe's dispute fee, from the balance transactions the gateway lists on
the dispute (the event is checked against them first,
application/payment_events/aftermath_facts.py), never from what an event says moved: a
dispute listing none moved nothing — each once per dispute, on the balance of whoever owns
the charge. A lost dispute that the tenant
bears (destination charges, `dispute_bearer` tenant) reserves its recovery on the
booking; `DisputeRecoveries` sends it once this transaction committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from application.ports.gateway_events import DisputeEvent
from application.ports.unit_of_work import UnitOfWork
from domain.booking import Booking
from domain.dispute import DisputeBearer, dispute_debits
from domain.errors import DomainError
from domain.ledger import LedgerEntry, dispute_funds_entries
from domain.money import Money
from domain.tenant import ChargeModel

log = logging.getLogger("bookpay.payments")


@dataclass(frozen=True, slots=True)
class DisputeRecorded:
    booking: Booking
    changed: bool
    # True when a lost dispute's recovery from the tenant was reserved and is to be sent.
    recovery_due: bool = False


async def record_dispute_event(
    uow: UnitOfWork, booking: Booking, event: DisputeEvent, bearer: DisputeBearer
) -> DisputeRecorded:
    """Apply the event to the booking (the caller saves the booking it gets back)."""
    tenant = await uow.tenants.get(booking.tenant_id)
    charge_model = tenant.charge_model if tenant is not None else ChargeModel.DESTINATION
    try:
        updated = booking.record_dispute(event.snapshot())
    except DomainError:
        return DisputeRecorded(booking, changed=False)  # an unpaid booking or a foreign currency
    added = await uow.ledger.add_all(_funds_entries(updated, event, charge_model))
    recovering = updated.reserve_dispute_recovery(event.dispute_id, charge_model, bearer)
    before, after = booking.dispute(event.dispute_id), recovering.dispute(event.dispute_id)
    # A newer snapshot saying what the booking shows moves only its time (kept, so an older
    # one cannot undo it): nothing changed that anyone can see.
    told = before is None or after is None or not before.tells_the_same(after)
    return DisputeRecorded(
        recovering,
        changed=told or any(added),
        recovery_due=recovering is not updated,
    )


def _funds_entries(
    booking: Booking, event: DisputeEvent, charge_model: ChargeModel
) -> list[LedgerEntry]:
    currency = booking.currency
    withdrawn = reinstated = fee = Money.zero(currency)
    for funds in event.balance_transactions:
        # A balance transaction is in the currency of the balance it moves: a charge settled
        # in another currency lists its dispute's funds converted at Stripe's rate. What
        # moved in the charge's currency is then the dispute's own amount (Stripe's figure,
        # https://docs.stripe.com/api/disputes/object#dispute_object-amount).
        same = funds.amount.currency == currency
        if not same and event.amount.currency != currency:
            continue
        if funds.amount.is_negative:
            withdrawn = withdrawn + (-funds.amount if same else event.amount)
        else:
            reinstated = reinstated + (funds.amount if same else event.amount)
        if funds.fee.currency == currency and funds.fee.amount > 0:
            fee = fee + funds.fee
        elif funds.fee.amount > 0:
            # Stripe reports the fee in the settlement currency only: booked nowhere
            # rather than converted by us; `bookpay reconcile` cannot repair it either.
            log.warning(
                "dispute %s: a fee of %s %s (settlement currency) is not booked on %s %s",
                event.dispute_id,
                funds.fee.amount,
                funds.fee.currency,
                booking.id,
                currency,
            )
    return dispute_funds_entries(
        booking,
        event.dispute_id,
        debits=dispute_debits(charge_model),
        at=event.created_at,
        withdrawn=withdrawn,
        reinstated=reinstated,
        fee=fee,
    )
