"""`account.updated`: what Stripe now says of a tenant's connected account."""

from __future__ import annotations

from application.payment_events.context import EventContext
from application.payment_events.outcome import EventApplied, Outcome
from application.ports.gateway_events import AccountUpdated
from domain.events import tenant_events


async def account_updated(ctx: EventContext, event: AccountUpdated) -> EventApplied:
    """Applied to the event's `account` (the one Stripe sent it for), only when the
    snapshot describes that account and is not older than the one the tenant keeps.
    `ignored` with why when it changes nothing; a newer snapshot of the account as it is
    still becomes the one kept, so that an older one arriving later cannot win."""
    account_id = event.account_id or event.status.account_id
    if account_id is None:
        return EventApplied(Outcome.IGNORED, detail="account event without an account")
    if event.status.account_id != account_id:
        detail = f"a snapshot of {event.status.account_id} sent for {account_id}"
        return EventApplied(Outcome.IGNORED, detail=detail)
    tenant = await ctx.uow.tenants.find_by_account_id(account_id)
    if tenant is None:
        return EventApplied(Outcome.IGNORED, detail=f"no tenant for account {account_id}")
    updated = tenant.with_connect_snapshot(event.status, event.created_at)
    if updated is tenant:
        return EventApplied(Outcome.IGNORED, detail="a newer snapshot is kept", tenant_id=tenant.id)
    await ctx.uow.tenants.update(updated)
    ctx.uow.outbox.add(*tenant_events(tenant, updated))
    if updated.connect == tenant.connect:
        detail = f"no change: account {account_id} is already as Stripe shows it"
        return EventApplied(Outcome.IGNORED, detail=detail, tenant_id=tenant.id)
    return EventApplied(Outcome.APPLIED, tenant_id=tenant.id)
