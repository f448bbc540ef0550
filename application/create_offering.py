"""A tenant creates an offering to sell, priced by the fee policy the platform set."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import FeePolicyIsThePlatforms
from application.ports.time_and_identity import IdGenerator
from application.uow import UnitOfWorkFactory
from domain.cancellation import CancellationPolicy
from domain.money import Money
from domain.offering import Offering, ensure_quotable


@dataclass(frozen=True, slots=True)
class NewOffering:
    tenant_id: str
    name: str
    price: Money
    duration_minutes: int
    capacity: int
    description: str = ""
    cancellation_policy: CancellationPolicy | None = None
    # The request tried to set the fee policy, which only the platform may do.
    sets_fee_policy: bool = False
    max_seats_per_booking: int | None = None


class CreateOffering:
    def __init__(self, uow: UnitOfWorkFactory, ids: IdGenerator) -> None:
        self._uow = uow
        self._ids = ids

    async def __call__(self, command: NewOffering) -> Offering:
        """The new offering, priced by the tenant's policy. FeePolicyIsThePlatforms when the
        request sets a fee policy; InvalidOffering (e.g. a price below Stripe's minimum
        charge, Offering.ensure_sellable); NewOfferingNotQuotable when the tenant's policy
        cannot price it (e.g. its fixed fee is in another currency)."""
        if command.sets_fee_policy:
            raise FeePolicyIsThePlatforms
        offering = Offering(
            id=self._ids.new_id("of"),
            tenant_id=command.tenant_id,
            name=command.name.strip(),
            description=command.description,
            price=command.price,
            duration_minutes=command.duration_minutes,
            capacity=command.capacity,
            cancellation_policy=command.cancellation_policy,
            max_seats_per_booking=command.max_seats_per_booking,
        )
        offering.ensure_sellable()
        async with self._uow() as uow:
            # Refuse now what every checkout would refuse later.
            await uow.tenants.lock_pricing(command.tenant_id)
            policy = await uow.tenants.active_fee_policy(command.tenant_id)
            ensure_quotable([offering], policy, unsaved=True)
            await uow.offerings.add(offering)
            await uow.commit()
        return offering
