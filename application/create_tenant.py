"""Create a tenant, its first fee-policy version and an API key shown only once."""

from __future__ import annotations

from dataclasses import dataclass

from application.credentials import hash_secret, new_api_key
from application.errors import Conflict
from application.ports.catalogue import CountryCodes
from application.ports.time_and_identity import Clock, IdGenerator
from application.uow import UnitOfWorkFactory
from domain.fee_quote import FeePolicyScope
from domain.fees import FeePolicy, policy_or_no_fee
from domain.money import normalize_currency
from domain.tenant import ChargeModel, Tenant, require_country, require_timezone


@dataclass(frozen=True, slots=True)
class NewTenant:
    name: str
    slug: str
    country: str
    default_currency: str
    timezone: str
    fee_policy: FeePolicy | None = None
    charge_model: ChargeModel = ChargeModel.DESTINATION


@dataclass(frozen=True, slots=True)
class TenantCreated:
    tenant: Tenant
    fee_policy: FeePolicy
    api_key: str


class CreateTenant:
    def __init__(
        self, uow: UnitOfWorkFactory, ids: IdGenerator, clock: Clock, countries: CountryCodes
    ) -> None:
        self._uow = uow
        self._ids = ids
        self._clock = clock
        self._countries = countries

    async def __call__(self, command: NewTenant) -> TenantCreated:
        """The tenant, its fee policy version 1 and its first API key.

        InvalidTenant for a country outside ISO 3166-1 or a timezone outside IANA's list;
        UnknownCurrency; FeePolicyCannotPrice when the policy has fixed amounts but none in
        the default currency; Conflict when the slug is taken.
        """
        tenant = Tenant(
            id=self._ids.new_id("tn"),
            name=command.name.strip(),
            slug=command.slug,
            country=require_country(command.country, self._countries.is_country),
            default_currency=normalize_currency(command.default_currency),
            timezone=require_timezone(command.timezone),
            charge_model=command.charge_model,
        )
        policy = (
            policy_or_no_fee(command.fee_policy)
            .require_prices(tenant.default_currency)
            .with_version(1)
            .owned_by(tenant.id, FeePolicyScope.TENANT)
        )
        api_key = new_api_key()
        async with self._uow() as uow:
            if await uow.tenants.get_by_slug(tenant.slug) is not None:
                raise Conflict(f"the slug {tenant.slug!r} is already taken")
            await uow.tenants.add(tenant)
            await uow.tenants.add_fee_policy(tenant.id, policy)
            await uow.tenants.add_api_key(
                tenant.id, hash_secret(api_key), label="default", created_at=self._clock.now()
            )
            await uow.commit()
        return TenantCreated(tenant=tenant, fee_policy=policy, api_key=api_key)
