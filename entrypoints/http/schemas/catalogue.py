"""Bodies of the platform's catalogue (API.md): fee policies, tenants, offerings and slots."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from application.rotate_api_key import MAX_GRACE
from domain.cancellation import MAX_WINDOW_HOURS
from domain.fees import RefundOnCancel, TierMode
from domain.offering import (
    MAX_SLOTS_PER_REQUEST,
)
from domain.tenant import ChargeModel
from entrypoints.http.schemas.wire import (
    Bps,
    Capacity,
    Currency,
    DurationMinutes,
    Money,
    Name,
    Slug,
    Text,
)

# --- fee policies --------------------------------------------------------------------


class Tier(Struct, forbid_unknown_fields=True):
    up_to: Money | None = None
    percent_bps: Bps = 0
    fixed: Money | None = None


class BearerSplit(Struct, forbid_unknown_fields=True):
    customer_share_bps: Bps


class FeeBearer(StrEnum):
    """Who bears the whole fee: `customer` (added as a "Service fee" line) or `tenant`
    (taken out of the price); a split is given as `BearerSplit`."""

    CUSTOMER = "customer"
    TENANT = "tenant"


class CurrencyAmounts(Struct, forbid_unknown_fields=True):
    """The policy's fixed amounts in one more currency (all of them in that currency)."""

    fixed: Money | None = None
    per_seat_fixed: Money | None = None
    tiers: list[Tier] | None = None
    min: Money | None = None
    max: Money | None = None


class FeePolicy(Struct, forbid_unknown_fields=True):
    """The platform's fee. Fixed amounts (fixed, per_seat_fixed, tiers, min, max) are in
    one currency; `by_currency` gives them for further currencies, keyed by ISO-4217 code,
    e.g. {"eur": {"fixed": {"amount": 25, "currency": "eur"}}}."""

    percent_bps: Bps | None = None
    fixed: Money | None = None
    per_seat_fixed: Money | None = None
    tiers: list[Tier] | None = None
    tier_mode: TierMode = TierMode.VOLUME
    min: Money | None = None
    max: Money | None = None
    bearer: FeeBearer | BearerSplit = FeeBearer.CUSTOMER
    refund_on_cancel: RefundOnCancel = RefundOnCancel.PROPORTIONAL
    by_currency: Annotated[dict[Currency, CurrencyAmounts], Meta(max_length=50)] | None = None


class VersionedFeePolicy(Struct):
    version: int
    policy: FeePolicy


class FeePolicyRef(Struct):
    """Names one fee policy exactly: `id` is the tenant's id for scope "tenant", the
    offering's id for scope "offering"."""

    id: str
    version: int
    scope: Literal["tenant", "offering"]


class AppliedFeePolicy(Struct):
    """The fee policy that now prices an offering: the platform's override for it (scope
    "offering") or, without one, the tenant's (scope "tenant")."""

    id: str
    version: int
    scope: Literal["tenant", "offering"]
    policy: FeePolicy


# --- tenants -------------------------------------------------------------------------


class TenantCreate(Struct, forbid_unknown_fields=True):
    name: Name
    slug: Slug
    country: Annotated[str, Meta(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")]
    default_currency: Currency
    timezone: Annotated[str, Meta(min_length=1, max_length=64)]
    fee_policy: FeePolicy | None = None
    charge_model: ChargeModel = ChargeModel.DESTINATION


class ConnectStatus(Struct):
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str]


class Tenant(Struct):
    id: str
    name: str
    slug: str
    country: str
    default_currency: str
    timezone: str
    charge_model: ChargeModel
    can_sell: bool
    connect: ConnectStatus
    fee_policy: VersionedFeePolicy | None


class TenantCreated(Struct):
    tenant: Tenant
    api_key: str


class ApiKeyRotation(Struct, forbid_unknown_fields=True):
    # How long the tenant's other keys keep working: 0 (revoke now) to 30 days.
    revoke_others_after_seconds: Annotated[int, Meta(ge=0, le=int(MAX_GRACE.total_seconds()))] = (
        24 * 3600
    )


class ApiKeyIssued(Struct):
    api_key: str  # shown once
    others_revoked_at: datetime
    others_revoked: int


class OnboardingLink(Struct):
    url: str
    expires_at: datetime


# --- offerings and slots -------------------------------------------------------------


class CancellationWindow(Struct, forbid_unknown_fields=True):
    hours_before: Annotated[int, Meta(ge=0, le=MAX_WINDOW_HOURS)]
    refund_percent: Annotated[int, Meta(ge=0, le=100)]


class CancellationPolicy(Struct, forbid_unknown_fields=True):
    windows: list[CancellationWindow]


class OfferingCreate(Struct, forbid_unknown_fields=True):
    name: Name
    price: Money
    duration_minutes: DurationMinutes
    capacity: Capacity
    description: Text | None = None
    cancellation_policy: CancellationPolicy | None = None
    # Only so that a tenant setting it is told 403 (the fee is the platform's).
    fee_policy: FeePolicy | msgspec.UnsetType | None = msgspec.UNSET
    max_seats_per_booking: Capacity | None = None


class OfferingPatch(Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType | None = msgspec.UNSET
    price: Money | msgspec.UnsetType = msgspec.UNSET
    duration_minutes: DurationMinutes | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    cancellation_policy: CancellationPolicy | msgspec.UnsetType | None = msgspec.UNSET
    fee_policy: FeePolicy | msgspec.UnsetType | None = msgspec.UNSET
    max_seats_per_booking: Capacity | msgspec.UnsetType | None = msgspec.UNSET


class Offering(Struct):
    id: str
    name: str
    description: str | None
    price: Money
    duration_minutes: int
    capacity: int
    cancellation_policy: CancellationPolicy | None
    fee_policy: FeePolicy | None
    archived: bool
    max_seats_per_booking: int | None = None


class PublicOffering(Struct):
    """An offering as customers see it: no fee policy."""

    id: str
    name: str
    description: str | None
    price: Money
    duration_minutes: int
    capacity: int
    cancellation_policy: CancellationPolicy | None


class SlotSpec(Struct, forbid_unknown_fields=True):
    starts_at: datetime
    capacity: Capacity | None = None


class SlotsCreate(Struct, forbid_unknown_fields=True):
    """Either one `starts_at`, or a list of `slots`."""

    starts_at: datetime | None = None
    capacity: Capacity | None = None
    slots: Annotated[list[SlotSpec], Meta(max_length=MAX_SLOTS_PER_REQUEST)] | None = None


class Slot(Struct):
    id: str
    offering_id: str
    starts_at: datetime
    capacity: int
    seats_available: int
    status: Literal["open", "cancelled"] = "open"


class SlotCancellationResult(Slot):
    """The slot after its cancellation, with what became of its bookings."""

    # Bookings ended by this request: unpaid holds released, paid bookings cancelled by the
    # tenant and refunded in full.
    bookings_ended: list[str] = msgspec.field(default_factory=list)
    # Bookings still open: a refund the gateway has not confirmed, or a dispute that blocks
    # it. Reconciliation (or cancelling the slot again) finishes them.
    bookings_unfinished: list[str] = msgspec.field(default_factory=list)


class SlotPatch(Struct, forbid_unknown_fields=True):
    capacity: Capacity


class SlotCancel(Struct, forbid_unknown_fields=True):
    reason: Text | None = None
