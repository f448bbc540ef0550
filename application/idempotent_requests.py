"""Requests made once per key (the API's Idempotency-Key): the first response is kept as
the edge rendered it (a status and bytes this module never reads) and replayed to a retry
of the same request; another request with the key is a conflict.

A claim whose request died (process killed, connection lost) is taken over by a retry
after CLAIM_TIMEOUT; records are purged after RETENTION, the time Stripe keeps its own keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.errors import Conflict, IdempotencyKeyReused, MalformedRequest
from application.ports.time_and_identity import Clock
from application.ports.unit_of_work import ClaimOutcome, StoredResponse
from application.uow import UnitOfWorkFactory

MAX_KEY_LENGTH = 255
# Longer than any request may run (database timeouts, gateway retries), so only a claim
# whose request is gone is taken over.
CLAIM_TIMEOUT = timedelta(minutes=5)
RETENTION = timedelta(hours=24)
# Keys deleted per transaction: short statements, well inside the statement timeout.
PURGE_BATCH = 1000


def require_valid_key(key: str, *, minimum: int = 1) -> str:
    """The key as sent: `minimum`–255 printable ASCII characters, or MalformedRequest."""
    if not minimum <= len(key) <= MAX_KEY_LENGTH:
        raise MalformedRequest(
            f"an Idempotency-Key must be {minimum} to {MAX_KEY_LENGTH} characters long"
        )
    if not all(" " <= char <= "~" for char in key):
        raise MalformedRequest("an Idempotency-Key must be printable ASCII characters")
    return key


class RequestInProgress(Conflict):
    """The first request with this key is still running. `retry_after` (whole seconds, at
    least 1): when a retry is sure of an answer, since by then the first request has either
    answered or, if it died, its claim may be taken over."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Claimed:
    """The caller runs the request, then calls `IdempotentRequests.finish` with this claim.

    `claimed_at` fences the claim: once a retry took it over (the request ran past the
    claim timeout), this request's late finish neither keeps its answer nor frees the
    retry's claim. Its effects are the use cases' to make once (a refund is reserved
    under an id derived from the key, a checkout resumes the booking the key made)."""

    replay: StoredResponse | None = None
    claimed_at: datetime | None = None


class IdempotentRequests:
    """`claim_timeout`: after how long a claim whose response never came is taken over by a
    retry (default CLAIM_TIMEOUT); keep it above the longest a request may run.
    `purge_batch`: keys deleted per transaction by `purge`."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        claim_timeout: timedelta = CLAIM_TIMEOUT,
        *,
        purge_batch: int = PURGE_BATCH,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._claim_timeout = claim_timeout
        self._purge_batch = purge_batch

    async def begin(self, scope: str, key: str, fingerprint: str) -> Claimed:
        """Claim `key` in `scope` (who is calling) for the request `fingerprint` hashes.

        Raises IdempotencyKeyReused (another request used the key) or Conflict (the same
        request is still running); returns the stored response when it already finished.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            claim = await uow.idempotency.claim(
                scope, key, fingerprint, now=now, stale_before=now - self._claim_timeout
            )
            await uow.commit()
        if claim.outcome is ClaimOutcome.MISMATCH:
            raise IdempotencyKeyReused(key)
        if claim.outcome is ClaimOutcome.IN_PROGRESS:
            claimed_at = claim.claimed_at or now
            left = (claimed_at + self._claim_timeout - now).total_seconds()
            raise RequestInProgress(
                "a request with this Idempotency-Key is still in progress; its answer is kept"
                " for a retry, and if it died a retry takes its key over"
                f" {self._claim_timeout.total_seconds():g} s after it began",
                retry_after=max(1, math.ceil(left)),
            )
        if claim.outcome is ClaimOutcome.REPLAY:
            return Claimed(replay=claim.response)
        return Claimed(claimed_at=claim.claimed_at or now)

    async def finish(
        self,
        scope: str,
        key: str,
        response: StoredResponse | None,
        claimed: Claimed | None = None,
    ) -> None:
        """Keep the response for replays, or (None) forget the claim so a retry may run;
        with `claimed` (what `begin` returned), only while that claim still holds the key."""
        at = None if claimed is None else claimed.claimed_at
        async with self._uow() as uow:
            if response is None:
                await uow.idempotency.release(scope, key, claimed_at=at)
            else:
                await uow.idempotency.store_response(scope, key, response, claimed_at=at)
            await uow.commit()

    async def purge(self) -> int:
        """Forget the keys claimed more than RETENTION ago, `purge_batch` per transaction;
        how many were forgotten."""
        before = self._clock.now() - RETENTION
        purged = 0
        while True:
            async with self._uow() as uow:
                deleted = await uow.idempotency.purge(before, self._purge_batch)
                await uow.commit()
            purged += deleted
            if deleted == 0:
                return purged

    async def __call__(self) -> int:
        return await self.purge()
