"""A tenant creates, changes and archives the offerings it sells."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

from application.errors import InvalidRequest, NotFound
from application.ports import IdGenerator, OfferingRepository
from application.uow import UnitOfWorkFactory
from domain.cancellation import CancellationPolicy
from domain.errors import BelowMinimumCharge
from domain.fees import FeePolicy
from domain.money import Money
from domain.offering import Offering


@dataclass(frozen=True, slots=True)
class NewOffering:
    tenant_id: str
    name: str
    price: Money
    duration_minutes: int
    capacity: int
    description: str = ""
    cancellation_policy: CancellationPolicy | None = None
    fee_policy: FeePolicy | None = None


class CreateOffering:
    def __init__(self, uow: UnitOfWorkFactory, ids: IdGenerator) -> None:
        self._uow = uow
        self._ids = ids

    async def __call__(self, command: NewOffering) -> Offering:
        offering = Offering(
            id=self._ids.new_id("of"),
            tenant_id=command.tenant_id,
            name=command.name.strip(),
            description=command.description,
            price=command.price,
            duration_minutes=command.duration_minutes,
            capacity=command.capacity,
            cancellation_policy=command.cancellation_policy,
            fee_policy=command.fee_policy,
        )
        async with self._uow() as uow:
            tenant_policy = await uow.tenants.active_fee_policy(command.tenant_id)
            # Refuse now what every checkout would refuse later: a fee policy with fixed
            # amounts in another currency than the price. (One seat below Stripe's minimum
            # charge is fine: several seats may well reach it.)
            with contextlib.suppress(BelowMinimumCharge):
                policy = offering.effective_fee_policy(tenant_policy or FeePolicy())
                policy.quote(offering.price, 1)
            await uow.offerings.add(offering)
            await uow.commit()
        return offering


@dataclass(frozen=True, slots=True)
class OfferingChanges:
    """Only the fields given change; fee and cancellation policies may be cleared (None)."""

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
        "fee_policy",
    }
)


class UpdateOffering:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, command: OfferingChanges) -> Offering:
        unknown = set(command.changes) - UPDATABLE
        if unknown:
            raise InvalidRequest(f"cannot change {sorted(unknown)}")
        async with self._uow() as uow:
            offering = await _get(uow.offerings, command.tenant_id, command.offering_id)
            changed = replace(offering, **command.changes)
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
