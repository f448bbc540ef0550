"""The idempotency store: one claim per key, the stored response of the first request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.statements import Statements, insert_once, utc_now
from application.errors import NotFound
from application.ports.unit_of_work import ClaimOutcome, IdempotencyClaim, StoredResponse


class SqlAlchemyIdempotencyStore:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements

    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime | None = None,
        stale_before: datetime | None = None,
    ) -> IdempotencyClaim:
        table = orm.idempotency_keys
        now = now or utc_now()
        values = {"tenant_id": scope, "key": key, "fingerprint": fingerprint, "created_at": now}
        # A claim released between our insert and our read leaves nothing to read: retry.
        for _ in range(3):
            if await insert_once(self._connection, self._sql.insert_once[table.name], values):
                return IdempotencyClaim(ClaimOutcome.CLAIMED, claimed_at=now)
            query = select(
                table.c.fingerprint,
                table.c.response_status,
                table.c.response_body,
                table.c.created_at,
            ).where(table.c.tenant_id == scope, table.c.key == key)
            row = (await self._connection.execute(query)).first()
            if row is None:
                continue
            if row.fingerprint != fingerprint:
                return IdempotencyClaim(ClaimOutcome.MISMATCH)
            if row.response_status is None:
                if stale_before is not None and await self._take_over(
                    scope, key, now, stale_before
                ):
                    return IdempotencyClaim(ClaimOutcome.CLAIMED, claimed_at=now)
                return IdempotencyClaim(ClaimOutcome.IN_PROGRESS, claimed_at=row.created_at)
            response = StoredResponse(row.response_status, bytes(row.response_body or b""))
            return IdempotencyClaim(ClaimOutcome.REPLAY, response)
        return IdempotencyClaim(ClaimOutcome.IN_PROGRESS)

    async def _take_over(self, scope: str, key: str, now: datetime, stale_before: datetime) -> bool:
        """One conditional statement: of several retries, exactly one takes a dead claim."""
        table = orm.idempotency_keys
        result = await self._connection.execute(
            update(table)
            .where(
                table.c.tenant_id == scope,
                table.c.key == key,
                table.c.response_status.is_(None),
                table.c.created_at < stale_before,
            )
            .values(created_at=now)
            .returning(table.c.key)
        )
        return result.first() is not None

    async def store_response(
        self,
        scope: str,
        key: str,
        response: StoredResponse,
        *,
        claimed_at: datetime | None = None,
    ) -> None:
        table = orm.idempotency_keys
        result = await self._connection.execute(
            update(table)
            .where(
                table.c.tenant_id == scope,
                table.c.key == key,
                table.c.response_status.is_(None),
                *_held_by(claimed_at),
            )
            .values(response_status=response.status, response_body=response.body)
            .returning(table.c.key)
        )
        if result.first() is not None:
            return
        exists = await self._connection.execute(
            select(table.c.key).where(table.c.tenant_id == scope, table.c.key == key)
        )
        if exists.first() is None and claimed_at is None:
            raise NotFound("idempotency key", key)

    async def release(self, scope: str, key: str, *, claimed_at: datetime | None = None) -> None:
        table = orm.idempotency_keys
        await self._connection.execute(
            table.delete().where(
                table.c.tenant_id == scope,
                table.c.key == key,
                table.c.response_status.is_(None),
                *_held_by(claimed_at),
            )
        )

    async def purge(self, created_before: datetime, limit: int) -> int:
        table = orm.idempotency_keys
        # A bounded batch (ix_idempotency_keys_created_at finds it): one DELETE of a large
        # table ran past the statement timeout, and so failed again at every try.
        oldest = (
            select(table.c.tenant_id, table.c.key)
            .where(table.c.created_at < created_before)
            .limit(limit)
        )
        result = await self._connection.execute(
            table.delete().where(
                tuple_(table.c.tenant_id, table.c.key).in_(oldest),
                table.c.created_at < created_before,
            )
        )
        return int(result.rowcount)


def _held_by(claimed_at: datetime | None) -> list[ColumnElement[bool]]:
    """The claim made at `claimed_at` still holds the key: a take-over sets a later time."""
    if claimed_at is None:
        return []
    return [orm.idempotency_keys.c.created_at == claimed_at]
