"""A tenant creates, changes and archives the offerings it sells."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from application.errors import Forbidden, InvalidRequest, NotFound
from application.ports.repositories import OfferingRepository
from application.ports.time_and_identity import IdGenerator
from application.uow import UnitOfWorkFactory
from domain.cancellation import CancellationPolicy
from domain.money import Money
from domain.offering import Offering, ensure_quotable


class FeePolicyIsThePlatforms(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "the service fee is the platform's: a tenant reads its fee policy but cannot "
            "set it (the platform sets it per tenant or per offering)"
        )


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
        request sets a fee policy; InvalidOffering; OfferingsNotQuotable when the tenant's
        policy cannot price it (e.g. its fixed fee is in another currency)."""
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
        async with self._uow() as uow:
            # Refuse now what every checkout would refuse later.
            await uow.tenants.lock_pricing(command.tenant_id)
            ensure_quotable([offering], await uow.tenants.active_fee_policy(command.tenant_id))
            await uow.offerings.add(offering)
            await uow.commit()
        return offering


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
        an unknown field; OfferingCurrencyFixed for a new currency once it has slots;
        OfferingsNotQuotable when the policy pricing it could no longer price it."""
        if "fee_policy" in command.changes:
            raise FeePolicyIsThePlatforms
        unknown = set(command.changes) - UPDATABLE
        if unknown:
            raise InvalidRequest(f"cannot change {sorted(unknown)}")
        changes = dict(command.changes)
        async with self._uow() as uow:
            await uow.tenants.lock_pricing(command.tenant_id)
            offering = await _get(uow.offerings, command.tenant_id, command.offering_id)
            if "price" in changes:
                price: Money = changes.pop("price")
                has_slots = price.currency != offering.price.currency and (
                    await uow.slots.offering_has_slots(offering.tenant_id, offering.id)
                )
                offering = offering.with_price(price, has_slots=has_slots)
            changed = replace(offering, **changes)
            ensure_quotable([changed], await uow.tenants.active_fee_policy(command.tenant_id))
            await uow.offerings.update(changed)
            await uow.commit()
        return changed


class ArchiveOffering:
    """Archived offerings are no longer sold; bookings already made stay as they are."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, tenant_id: str, offering_id: str) -> Offering:
        async with self._uow() as uow:
            offering = await _get(uow.offerings, tenant_id, offering_id)
            archived = offering.archive()
            if archived != offering:
                await uow.offerings.update(archived)
                await uow.commit()
        return archived


class OfferingQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, tenant_id: str, offering_id: str) -> Offering:
        async with self._uow() as uow:
            return await _get(uow.offerings, tenant_id, offering_id)

    async def list(
        self,
        tenant_id: str,
        *,
        include_archived: bool,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        """The tenant's offerings by name, then id; a page of `limit` after (name, id)."""
        async with self._uow() as uow:
            return await uow.offerings.list(
                tenant_id, include_archived=include_archived, after=after, limit=limit
            )


async def _get(offerings: OfferingRepository, tenant_id: str, offering_id: str) -> Offering:
    offering = await offerings.get(tenant_id, offering_id)
    if offering is None:
        raise NotFound("offering", offering_id)
    return offering
