"""The fee breakdown a customer would see for an offering and a number of seats."""

from __future__ import annotations

from application.errors import NotFound
from application.uow import UnitOfWorkFactory
from domain.fee_quote import FeeQuote
from domain.offering import DEFAULT_MAX_SEATS_PER_BOOKING


class QuoteFee:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        default_max_seats_per_booking: int = DEFAULT_MAX_SEATS_PER_BOOKING,
    ) -> None:
        """`default_max_seats_per_booking`: as for StartCheckout, so a quote refuses what a
        checkout would (Offering.quote)."""
        self._uow = uow
        self._default_max_seats = default_max_seats_per_booking

    async def __call__(self, tenant_id: str, offering_id: str, seats: int) -> FeeQuote:
        async with self._uow() as uow:
            offering = await uow.offerings.get(tenant_id, offering_id)
            if offering is None:
                raise NotFound("offering", offering_id)
            tenant_policy = await uow.tenants.active_fee_policy(tenant_id)
        return offering.quote(seats, tenant_policy, self._default_max_seats)

    async def for_customer(self, tenant_slug: str, offering_id: str, seats: int) -> FeeQuote:
        """What a customer would pay for `seats` of a tenant's (by slug) active offering;
        NotFound for an unknown tenant and for an unknown or archived offering."""
        async with self._uow() as uow:
            tenant = await uow.tenants.get_by_slug(tenant_slug)
            if tenant is None:
                raise NotFound("tenant", tenant_slug)
            offering = await uow.offerings.get(tenant.id, offering_id)
            if offering is None or offering.archived:
                raise NotFound("offering", offering_id)
            tenant_policy = await uow.tenants.active_fee_policy(tenant.id)
        return offering.quote(seats, tenant_policy, self._default_max_seats)
