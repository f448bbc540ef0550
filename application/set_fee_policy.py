"""The platform sets a tenant's fee: a new version of its policy. Bookings already sold
keep theirs; every active offering stays quotable."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFound
from application.uow import UnitOfWorkFactory
from domain.fee_quote import FeePolicyScope
from domain.fees import FeePolicy
from domain.offering import ensure_quotable


@dataclass(frozen=True, slots=True)
class NewFeePolicy:
    tenant_id: str
    policy: FeePolicy


class SetFeePolicy:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, command: NewFeePolicy) -> FeePolicy:
        """The tenant's new policy version (previous + 1). NotFound for an unknown tenant;
        OfferingsNotQuotable, storing nothing, when an active offering without an
        override could not be priced by it."""
        async with self._uow() as uow:
            if not await uow.tenants.lock_pricing(command.tenant_id):
                raise NotFound("tenant", command.tenant_id)
            current = await uow.tenants.active_fee_policy(command.tenant_id)
            policy = command.policy.with_version(current.version + 1 if current else 1)
            policy = policy.owned_by(command.tenant_id, FeePolicyScope.TENANT)
            ensure_quotable(await uow.offerings.list(command.tenant_id), policy)
            await uow.tenants.add_fee_policy(command.tenant_id, policy)
            await uow.commit()
        return policy
