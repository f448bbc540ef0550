"""Idempotency-Key for any request that creates something: the first response is kept and
replayed to a retry with the same key and body; another body with the key is a conflict."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import Conflict, IdempotencyKeyReused
from application.ports import ClaimOutcome, StoredResponse
from application.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Claimed:
    """The caller runs the request, then calls `IdempotentRequests.finish`."""

    replay: StoredResponse | None = None


class IdempotentRequests:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def begin(self, scope: str, key: str, fingerprint: str) -> Claimed:
        async with self._uow() as uow:
            claim = await uow.idempotency.claim(scope, key, fingerprint)
            await uow.commit()
        if claim.outcome is ClaimOutcome.MISMATCH:
            raise IdempotencyKeyReused(key)
        if claim.outcome is ClaimOutcome.IN_PROGRESS:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        if claim.outcome is ClaimOutcome.REPLAY:
            return Claimed(replay=claim.response)
        return Claimed()

    async def finish(self, scope: str, key: str, response: StoredResponse | None) -> None:
        """Keep the response for replays, or (None) forget the claim so a retry may run."""
        async with self._uow() as uow:
            if response is None:
                await uow.idempotency.release(scope, key)
            else:
                await uow.idempotency.store_response(scope, key, response)
            await uow.commit()
