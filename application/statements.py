"""A tenant's statement and the platform's fee report, summed from the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.uow import UnitOfWorkFactory
from domain.ledger import StatementLine
from domain.money import Money


class TenantStatement:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, tenant_id: str, *, since: datetime | None, until: datetime | None
    ) -> list[StatementLine]:
        async with self._uow() as uow:
            return await uow.ledger.statement(tenant_id, since=since, until=until)


@dataclass(frozen=True, slots=True)
class FeeReportLine:
    """The platform's fee revenue from one tenant in one currency."""

    tenant_id: str
    tenant_slug: str
    line: StatementLine

    @property
    def net_fees(self) -> Money:
        return self.line.fees - self.line.fee_refunds


class PlatformFeeReport:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        *,
        since: datetime | None,
        until: datetime | None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[FeeReportLine]:
        """The report's lines ordered by tenant id, then currency: those after `after`
        (tenant id, currency), at most `limit` of them (all when None)."""
        report: list[FeeReportLine] = []

        def full() -> bool:
            return limit is not None and len(report) >= limit

        async with self._uow() as uow:
            if after is not None:
                tenant = await uow.tenants.get(after[0])
                if tenant is not None:
                    lines = await uow.ledger.statement(tenant.id, since=since, until=until)
                    report += [
                        FeeReportLine(tenant.id, tenant.slug, line)
                        for line in sorted(lines, key=lambda line: line.currency)
                        if line.currency > after[1]
                    ]
            last_tenant = after[0] if after else None
            while not full() and (tenants := await uow.tenants.list(after=last_tenant, limit=200)):
                for tenant in tenants:
                    lines = await uow.ledger.statement(tenant.id, since=since, until=until)
                    report += [
                        FeeReportLine(tenant.id, tenant.slug, line)
                        for line in sorted(lines, key=lambda line: line.currency)
                    ]
                    if full():
                        break
                last_tenant = tenants[-1].id
        return report if limit is None else report[:limit]
