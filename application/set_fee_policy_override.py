"""The platform sets, or ends, its fee override for one offering: a new version. Bookings
already sold keep theirs; the offering stays quotable."""

from __future__ import annotations

from dataclasses import dataclass, replace

from application.errors import NotFound
from application.uow import UnitOfWorkFactory
from domain.fee_quote import FeePolicyScope
from domain.fees import FeePolicy, policy_or_no_fee
from domain.offering import Offering, ensure_quotable


@dataclass(frozen=True, slots=True)
class NewFeePolicyOverride:
    """`policy` None ends the override: the offering goes back to the tenant's policy."""

    tenant_id: str
    offering_id: str
    policy: FeePolicy | None


class SetFeePolicyOverride:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, command: NewFeePolicyOverride) -> FeePolicy:
        """The policy that now prices the offering: the new override version (scope
        OFFERING), or after a removal the tenant's active policy (scope TENANT).

        NotFound for an unknown tenant or offering; OfferingsNotQuotable, storing nothing,
        when the offering is active and the policy that would price it cannot.
        """
        async with self._uow() as uow:
            if not await uow.tenants.lock_pricing(command.tenant_id):
                raise NotFound("tenant", command.tenant_id)
            offering = await uow.offerings.get(command.tenant_id, command.offering_id)
            if offering is None:
                raise NotFound("offering", command.offering_id)
            tenant_policy = policy_or_no_fee(await uow.tenants.active_fee_policy(command.tenant_id))
            last = await uow.offerings.last_fee_policy_override_version(
                command.tenant_id, offering.id
            )
            override = None
            if command.policy is not None:
                override = command.policy.with_version(last + 1).owned_by(
                    offering.id, FeePolicyScope.OFFERING
                )
            elif offering.fee_policy is None:
                return tenant_policy  # nothing to end: already the tenant's policy
            ensure_quotable([_with_override(offering, override)], tenant_policy)
            await uow.offerings.add_fee_policy_override(
                command.tenant_id, offering.id, last + 1, override
            )
            await uow.commit()
        return override or tenant_policy


def _with_override(offering: Offering, override: FeePolicy | None) -> Offering:
    return replace(offering, fee_policy=override)
