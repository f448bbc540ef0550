"""Domain objects for persistence tests, each with fresh unique ids, and their seeding."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from domain.booking import Booking, Customer
from domain.cancellation import CancellationPolicy, CancellationWindow
from domain.fees import CurrencyAmounts, FeeBearer, FeePolicy, RefundOnCancel, Tier, TierMode
from domain.ledger import LedgerEntry
from domain.money import Money
from domain.offering import Offering, Slot
from domain.tenant import ChargeModel, ConnectStatus, Tenant

if TYPE_CHECKING:
    from tests.integration.persistence.conftest import Backend

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def a_tenant(**changes: object) -> Tenant:
    tenant_id = new_id("tn")
    values: dict[str, object] = {
        "id": tenant_id,
        "name": "Harbour Kayaks",
        "slug": f"harbour-{tenant_id}",
        "country": "GB",
        "default_currency": "gbp",
        "timezone": "Europe/London",
        "charge_model": ChargeModel.DESTINATION,
        "connect": ConnectStatus(
            account_id=new_id("acct"),
            charges_enabled=True,
            payouts_enabled=False,
            details_submitted=True,
            requirements_due=("external_account", "tos_acceptance.date"),
        ),
    }
    values.update(changes)
    return Tenant(**values)  # type: ignore[arg-type]


def a_fee_policy(version: int = 1) -> FeePolicy:
    return FeePolicy(
        percent_bps=250,
        fixed=Money(30, "usd"),
        per_seat_fixed=Money(10, "usd"),
        tiers=(Tier(Money(10_000, "usd"), 100), Tier(None, 50, Money(5, "usd"))),
        tier_mode=TierMode.MARGINAL,
        minimum=Money(50, "usd"),
        maximum=Money(5_000, "usd"),
        bearer=FeeBearer.split(4_000),
        refund_on_cancel=RefundOnCancel.NEVER,
        version=version,
        by_currency=(
            CurrencyAmounts(
                "eur",
                fixed=Money(25, "eur"),
                tiers=(Tier(Money(9_000, "eur"), 100), Tier(None, 50)),
                minimum=Money(40, "eur"),
            ),
        ),
    )


def an_offering(tenant_id: str, **changes: object) -> Offering:
    values: dict[str, object] = {
        "id": new_id("of"),
        "tenant_id": tenant_id,
        "name": "Sunset paddle",
        "price": Money(2_500, "usd"),
        "duration_minutes": 90,
        "capacity": 10,
        "description": "Two hours on the water.",
        "cancellation_policy": CancellationPolicy(
            (CancellationWindow(48, 100), CancellationWindow(24, 50))
        ),
        # The platform's override is stored on its own (add_fee_policy_override).
        "fee_policy": None,
        "max_seats_per_booking": 6,
    }
    values.update(changes)
    return Offering(**values)  # type: ignore[arg-type]


def a_slot(offering: Offering, **changes: object) -> Slot:
    values: dict[str, object] = {
        "id": new_id("sl"),
        "tenant_id": offering.tenant_id,
        "offering_id": offering.id,
        "starts_at": NOW + timedelta(days=7),
        "capacity": offering.capacity,
    }
    values.update(changes)
    return Slot(**values)  # type: ignore[arg-type]


def a_booking(slot: Slot, seats: int = 2, **changes: object) -> Booking:
    quote = FeePolicy(percent_bps=500, fixed=Money(30, "usd")).quote(Money(2_500, "usd"), seats)
    values: dict[str, object] = {
        "id": new_id("bk"),
        "tenant_id": slot.tenant_id,
        "offering_id": slot.offering_id,
        "slot_id": slot.id,
        "seats": seats,
        "starts_at": slot.starts_at,
        "customer": Customer("ada@example.com", "Ada Lovelace"),
        "quote": quote,
        "refund_on_cancel": RefundOnCancel.PROPORTIONAL,
        "hold_expires_at": NOW + timedelta(minutes=30),
        "created_at": NOW,
        "cancellation_policy": CancellationPolicy(
            (CancellationWindow(72, 100), CancellationWindow(12, 25))
        ),
        "cancel_url": "https://shop.example/classes?left=1",
    }
    values.update(changes)
    return Booking(**values)  # type: ignore[arg-type]


async def seed(backend: Backend, *objects: object) -> None:
    """Store tenants, offerings, slots, bookings and ledger entries, in this order of
    arguments."""
    async with backend.uow() as uow:
        for obj in objects:
            match obj:
                case Tenant():
                    await uow.tenants.add(obj)
                case Offering():
                    await uow.offerings.add(obj)
                case Slot():
                    await uow.slots.add(obj)
                case Booking():
                    await uow.bookings.add(obj)
                case LedgerEntry():
                    await uow.ledger.add(obj)
                case _:
                    raise TypeError(obj)
        await uow.commit()


async def bookable(backend: Backend, capacity: int = 10) -> tuple[Tenant, Offering, Slot]:
    """A tenant with an offering and one slot of it, stored."""
    tenant = a_tenant()
    offering = an_offering(tenant.id, capacity=capacity)
    slot = a_slot(offering)
    await seed(backend, tenant, offering, slot)
    return tenant, offering, slot
