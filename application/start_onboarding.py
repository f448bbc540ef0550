"""Connect a tenant's Stripe account: create it once, then hand out an onboarding link."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from application.errors import GatewayInvalidRequest, NotFound
from application.ports.gateway import OnboardingLink, PaymentGateway
from application.uow import UnitOfWorkFactory
from domain.events import tenant_events
from domain.return_urls import host_of, require_allowed_return_url


@dataclass(frozen=True, slots=True)
class StartOnboardingCommand:
    """`return_url` / `refresh_url`: the tenant's own choice, or None for Bookpay's pages."""

    tenant_id: str
    refresh_url: str | None = None
    return_url: str | None = None


class StartOnboarding:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        *,
        default_return_url: str,
        default_refresh_url: str,
        return_hosts: Collection[str] = (),
    ) -> None:
        """`default_*_url`: Bookpay's own pages; `return_hosts`: where else Stripe may send
        the tenant back (Bookpay's own host is always allowed)."""
        self._uow = uow
        self._gateway = gateway
        self._default_return_url = default_return_url
        self._default_refresh_url = default_refresh_url
        self._return_hosts = frozenset({*return_hosts, host_of(default_return_url)})

    async def __call__(self, command: StartOnboardingCommand) -> OnboardingLink:
        """The link to Stripe's hosted onboarding, creating the connected account first if
        the tenant has none. ReturnUrlNotAllowed for a return or refresh URL off the
        allow-list; NotFound for an unknown tenant; GatewayError when Stripe fails."""
        for url in (command.return_url, command.refresh_url):
            if url is not None:
                require_allowed_return_url(url, self._return_hosts)
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
            refresh_url=command.refresh_url or self._default_refresh_url,
            return_url=command.return_url or self._default_return_url,
        )
