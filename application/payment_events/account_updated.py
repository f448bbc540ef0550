"""`account.updated`: what Stripe now says of a tenant's connected account."""

from __future__ import annotations

from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied, Outcome
from application.ports import AccountUpdated


async def account_updated(ctx: EventContext, event: AccountUpdated) -> EventApplied:
    account_id = event.status.account_id or event.account_id
    if account_id is None:
        return EventApplied(Outcome.IGNORED, detail="account event without an account")
    tenant = await ctx.uow.tenants.find_by_account_id(account_id)
    if tenant is None:
        return EventApplied(Outcome.IGNORED, detail=f"no tenant for account {account_id}")
    if tenant.connect != event.status:
        await ctx.uow.tenants.update(tenant.with_connect_status(event.status))
    return EventApplied(Outcome.APPLIED, tenant_id=tenant.id)
