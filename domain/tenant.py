"""Tenants: businesses that sell through the platform with their own Stripe account."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import cache

from domain.clock import as_utc
from domain.errors import InvalidTenant, TenantCannotSell


@cache
def _iana_timezones() -> frozenset[str]:
    # zoneinfo also lists files that are not zones: the host's own, and tzdata's filler.
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "Factory", "posixrules"}


def require_timezone(name: str) -> str:
    """`name` when it is an IANA timezone (e.g. "Europe/Berlin"), else InvalidTenant."""
    if name not in _iana_timezones():
        raise InvalidTenant(f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin")
    return name


def require_country(code: str, is_country: Callable[[str], bool]) -> str:
    """The upper-case ISO 3166-1 alpha-2 code, else InvalidTenant. `is_country` answers
    from the ISO list, which the domain does not carry."""
    normalized = code.strip().upper()
    if len(normalized) != 2 or not normalized.isascii() or not is_country(normalized):
        raise InvalidTenant(f"unknown country {code!r}: use an ISO 3166-1 alpha-2 code")
    return normalized


class ChargeModel(StrEnum):
    """Where the charge lives on Stripe.

    DESTINATION: on the platform, with the tenant's share transferred to its account.
    DIRECT: on the tenant's connected account, with the platform's fee taken from it.
    """

    DESTINATION = "destination"
    DIRECT = "direct"


def charge_account(charge_model: ChargeModel, connected_account_id: str | None) -> str | None:
    """The Stripe account a charge lives on, and that every call about it names (the
    `Stripe-Account` header): the tenant's connected account for direct charges, None (the
    platform's own) for destination charges."""
    if charge_model is ChargeModel.DIRECT:
        return connected_account_id
    return None


@dataclass(frozen=True, slots=True)
class ConnectStatus:
    """What Stripe last told us about the tenant's connected account."""

    account_id: str | None = None
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    requirements_due: tuple[str, ...] = ()

    @property
    def can_take_charges(self) -> bool:
        return self.account_id is not None and self.charges_enabled


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    slug: str
    country: str
    default_currency: str
    timezone: str
    charge_model: ChargeModel = ChargeModel.DESTINATION
    connect: ConnectStatus = ConnectStatus()
    # When Stripe took the snapshot in `connect` (its event's `created`); None before any.
    connect_as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.connect_as_of is not None:
            object.__setattr__(self, "connect_as_of", as_utc(self.connect_as_of))

    @property
    def can_sell(self) -> bool:
        return self.connect.can_take_charges

    @property
    def charge_account_id(self) -> str | None:
        """The account its customers' charges live on (see `charge_account`)."""
        return charge_account(self.charge_model, self.connect.account_id)

    def ensure_can_sell(self) -> None:
        if not self.can_sell:
            raise TenantCannotSell(self.id)

    def with_connect_status(self, status: ConnectStatus) -> Tenant:
        return replace(self, connect=status)

    def with_connect_snapshot(self, status: ConnectStatus, as_of: datetime) -> Tenant:
        """Stripe's snapshot of the account taken at `as_of`, unless a newer one is kept.

        Stripe does not keep order, so an older snapshot delivered late changes nothing, in
        either direction; of two taken in the same second the later delivered wins. The
        same tenant (the same object) comes back when nothing changes.
        """
        as_of = as_utc(as_of)
        if self.connect_as_of is not None and as_of < self.connect_as_of:
            return self
        if status == self.connect and as_of == self.connect_as_of:
            return self
        return replace(self, connect=status, connect_as_of=as_of)
