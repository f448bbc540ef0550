"""Issue a tenant a new API key; its other keys end after a grace period (or at once).

The grace period lets the tenant deploy the new key before the old one stops working; a
grace of zero revokes every other key now (a leaked key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from application.credentials import hash_secret, new_api_key
from application.errors import InvalidRequest, NotFound
from application.ports.time_and_identity import Clock
from application.uow import UnitOfWorkFactory

DEFAULT_GRACE = timedelta(days=1)
MAX_GRACE = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class RotateApiKeyCommand:
    tenant_id: str
    # How long the tenant's other keys keep working; zero ends them now.
    revoke_others_after: timedelta = DEFAULT_GRACE


@dataclass(frozen=True, slots=True)
class ApiKeyIssued:
    api_key: str  # shown once; only its hash is kept
    others_revoked_at: datetime
    others_revoked: int


class RotateApiKey:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, command: RotateApiKeyCommand) -> ApiKeyIssued:
        """NotFound for an unknown tenant; InvalidRequest for a grace outside 0–30 days."""
        if not timedelta(0) <= command.revoke_others_after <= MAX_GRACE:
            raise InvalidRequest("the old keys may keep working for 0 to 30 days")
        now = self._clock.now()
        api_key = new_api_key()
        key_hash = hash_secret(api_key)
        revoked_at = now + command.revoke_others_after
        async with self._uow() as uow:
            if await uow.tenants.get(command.tenant_id) is None:
                raise NotFound("tenant", command.tenant_id)
            await uow.tenants.add_api_key(
                command.tenant_id, key_hash, label=f"rotated {now.isoformat()}", created_at=now
            )
            revoked = await uow.tenants.revoke_other_api_keys(
                command.tenant_id, key_hash, revoked_at=revoked_at
            )
            await uow.commit()
        return ApiKeyIssued(api_key=api_key, others_revoked_at=revoked_at, others_revoked=revoked)
