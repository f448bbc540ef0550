"""A tenant changes an offering; every change leaves it quotable."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from application.errors import FeePolicyIsThePlatforms, InvalidRequest
from application.offering_queries import get_offering
from application.uow import UnitOfWorkFactory
from domain.money import Money
from domain.offering import Offering, ensure_quotable


@dataclass(frozen=True, slots=True)
class OfferingChanges:
    """Only the fields given change; the cancellation policy may be cleared (None)."""

    tenant_id: str
    offering_id: str
    changes: dict[str, Any]


UPDATABLE = frozenset(
    {
        "name",
        "description",
        "price",
        "duration_minutes",
        "capacity",
        "cancellation_policy",
        "max_seats_per_booking",
    }
)


class UpdateOffering:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, command: OfferingChanges) -> Offering:
        """The changed offering. FeePolicyIsThePlatforms for a fee policy; InvalidRequest for
        an unknown field; InvalidOffering (Offering.ensure_sellable); OfferingCurrencyFixed
        for a new currency once it has slots; OfferingsNotQuotable when the policy pricing
        it could no longer price it."""
        if "fee_policy" in command.changes:
            raise FeePolicyIsThePlatforms
        unknown = set(command.changes) - UPDATABLE
        if unknown:
            raise InvalidRequest(f"cannot change {sorted(unknown)}")
        changes = dict(command.changes)
        async with self._uow() as uow:
            await uow.tenants.lock_pricing(command.tenant_id)
            offering = await get_offering(uow.offerings, command.tenant_id, command.offering_id)
            if "price" in changes:
                price: Money = changes.pop("price")
                has_slots = price.currency != offering.price.currency and (
                    await uow.slots.offering_has_slots(offering.tenant_id, offering.id)
                )
                offering = offering.with_price(price, has_slots=has_slots)
            changed = replace(offering, **changes)
            changed.ensure_sellable()
            ensure_quotable([changed], await uow.tenants.active_fee_policy(command.tenant_id))
            await uow.offerings.update(changed)
            await uow.commit()
        return changed
