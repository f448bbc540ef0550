"""Connect a tenant's Stripe account: create it once, then hand out an onboarding link."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import GatewayInvalidRequest, NotFound
from application.ports.gateway import OnboardingLink, PaymentGateway
from application.uow import UnitOfWorkFactory
from domain.events import tenant_events


@dataclass(frozen=True, slots=True)
class StartOnboardingCommand:
    tenant_id: str
    refresh_url: str
    return_url: str


class StartOnboarding:
    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway) -> None:
        self._uow = uow
        self._gateway = gateway

    async def __call__(self, command: StartOnboardingCommand) -> OnboardingLink:
        async with self._uow() as uow:
            tenant = await uow.tenants.get(command.tenant_id)
            if tenant is None:
                raise NotFound("tenant", command.tenant_id)
        account_id = tenant.connect.account_id
        if account_id is None:
            # The key is the tenant's id: a retry after a lost response finds the same account.
            status = await self._gateway.create_connected_account(
                tenant_id=tenant.id,
                country=tenant.country,
                email=None,
                idempotency_key=f"bookpay-account-{tenant.id}",
            )
            account_id = status.account_id
            if account_id is None:
                raise GatewayInvalidRequest("the gateway created an account without an id")
            async with self._uow() as uow:
                current = await uow.tenants.get(tenant.id)
                if current is not None and current.connect.account_id is None:
                    connected = current.with_connect_status(status)
                    await uow.tenants.update(connected)
                    uow.outbox.add(*tenant_events(current, connected))
                    await uow.commit()
        return await self._gateway.create_onboarding_link(
            account_id=account_id,
            refresh_url=command.refresh_url,
            return_url=command.return_url,
        )
