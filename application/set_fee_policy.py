"""Give a tenant a new fee-policy version; bookings already sold keep theirs."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFound
from application.uow import UnitOfWorkFactory
from domain.fees import FeePolicy


@dataclass(frozen=True, slots=True)
class NewFeePolicy:
    tenant_id: str
    policy: FeePolicy


class SetFeePolicy:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, command: NewFeePolicy) -> FeePolicy:
        async with self._uow() as uow:
            if await uow.tenants.get(command.tenant_id) is None:
                raise NotFound("tenant", command.tenant_id)
            current = await uow.tenants.active_fee_policy(command.tenant_id)
            policy = command.policy.with_version(current.version + 1 if current else 1)
            await uow.tenants.add_fee_policy(command.tenant_id, policy)
            await uow.commit()
        return policy
