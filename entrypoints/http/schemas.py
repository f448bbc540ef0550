"""Request and response bodies of the HTTP API (API.md), as msgspec Structs.

Constraints here only describe the wire format (types, lengths); the bounds of what may be
sold are the domain's constants, repeated here so that the OpenAPI document shows them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from application.rotate_api_key import MAX_GRACE
from domain.booking import BookingStatus, PaymentStatus
from domain.cancellation import MAX_WINDOW_HOURS
from domain.fees import BPS, BearerKind, RefundOnCancel, TierMode
from domain.ledger import EntryKind
from domain.offering import (
    MAX_CAPACITY,
    MAX_DURATION_MINUTES,
    MAX_SEATS_PER_BOOKING,
    MAX_SLOTS_PER_REQUEST,
)
from domain.tenant import ChargeModel

__all__ = [
    "BearerKind",
    "BookingStatus",
    "ChargeModel",
    "EntryKind",
    "PaymentStatus",
    "RefundOnCancel",
    "TierMode",
]

T = TypeVar("T")

MAX_AMOUNT = 99_999_999_999  # Stripe's amount fields are 8-byte integers; stay well inside
Amount = Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description="whole minor units")]
Currency = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=3,
        pattern="^[A-Za-z]{3}$",
        description="ISO-4217 code, lowercase in responses",
    ),
]
Bps = Annotated[int, Meta(ge=0, le=BPS, description="basis points: 500 = 5 %")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Text = Annotated[str, Meta(max_length=2000)]
Slug = Annotated[str, Meta(min_length=2, max_length=63, pattern="^[a-z0-9][a-z0-9-]*[a-z0-9]$")]
Seats = Annotated[int, Meta(ge=1, le=MAX_SEATS_PER_BOOKING)]
Capacity = Annotated[int, Meta(ge=1, le=MAX_CAPACITY)]
DurationMinutes = Annotated[int, Meta(ge=1, le=MAX_DURATION_MINUTES)]
Url = Annotated[str, Meta(max_length=2048, pattern="^https?://")]
Email = Annotated[str, Meta(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


SignedAmount = Annotated[
    int, Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT, description="whole minor units; may be negative")
]


class Money(Struct, forbid_unknown_fields=True):
    """An amount in the currency's minor unit (cents; yen for JPY), never negative."""

    amount: Amount
    currency: Currency


class SignedMoney(Struct):
    """Money that can be negative, such as a statement's net (minor units)."""

    amount: SignedAmount
    currency: Currency


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


class SlotPatch(Struct, forbid_unknown_fields=True):
    capacity: Capacity


class SlotCancel(Struct, forbid_unknown_fields=True):
    reason: Text | None = None


# --- quotes, checkout, bookings ------------------------------------------------------


class Quote(Struct):
    subtotal: Money
    service_fee: Money
    customer_total: Money
    application_fee: Money
    tenant_receives: Money
    fee_bearer: BearerKind
    fee_policy_version: int
    fee_policy: FeePolicyRef


class PublicQuote(Struct):
    """The customer's side of a quote: `service_fee` is the part of the fee the customer
    pays on top of the price (zero when the tenant bears it); customer_total = subtotal +
    service_fee."""

    subtotal: Money
    service_fee: Money
    customer_total: Money


class CustomerIn(Struct, forbid_unknown_fields=True):
    email: Email
    name: Name | None = None


class OnboardingLinkCreate(Struct, forbid_unknown_fields=True):
    """Where Stripe sends the tenant back: after onboarding (`return_url`) and when the link
    expired (`refresh_url`); each on the return-URL allow-list, default a Bookpay page."""

    return_url: Url | None = None
    refresh_url: Url | None = None


class CheckoutCreate(Struct, forbid_unknown_fields=True):
    slot_id: Annotated[str, Meta(min_length=1, max_length=100)]
    seats: Seats
    customer: CustomerIn
    success_url: Url | None = None
    cancel_url: Url | None = None


class CheckoutCreated(Struct):
    booking_id: str
    booking_token: str
    checkout_url: str
    expires_at: datetime
    quote: PublicQuote


class Customer(Struct):
    email: str
    name: str | None


class LedgerEntry(Struct):
    kind: EntryKind
    amount: Money
    gateway_ref: str
    created_at: datetime
    # Whose balance the money moved on: "platform" only for a destination charge's
    # dispute funds, which the platform bears until it recovers them from the tenant.
    borne_by: Literal["tenant", "platform"] = "tenant"


class Dispute(Struct):
    id: str
    amount: Money
    reason: str
    status: Literal[
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
    ]
    is_charge_refundable: bool
    opened_at: datetime
    closed_at: datetime | None


class Terms(Struct, omit_defaults=True):
    """The terms the booking was sold under, kept for life. `fee_policy` only in the
    tenant's view."""

    cancellation_policy: CancellationPolicy | None
    refund_on_cancel: RefundOnCancel
    fee_policy: FeePolicyRef | msgspec.UnsetType = msgspec.UNSET


class PublicBooking(Struct):
    """A booking as its customer sees it: what they pay and got back, never the
    application fee or what the tenant receives."""

    id: str
    status: BookingStatus
    offering_id: str
    slot_id: str
    seats: int
    starts_at: datetime
    customer: Customer
    quote: PublicQuote
    hold_expires_at: datetime
    created_at: datetime
    refunded: Money
    payment_status: PaymentStatus
    # The terms the booking was sold under (without the fee policy's identity).
    terms: Terms


class Booking(Struct):
    id: str
    status: BookingStatus
    payment_status: PaymentStatus
    offering_id: str
    slot_id: str
    seats: int
    starts_at: datetime
    customer: Customer
    quote: Quote
    hold_expires_at: datetime
    created_at: datetime
    refunded: Money
    terms: Terms


class TenantBooking(Booking):
    """The tenant's view adds the booking's payment intent, ledger entries and disputes."""

    ledger: list[LedgerEntry]
    payment_intent: str | None = None
    disputes: list[Dispute] = msgspec.field(default_factory=list)


class CancelRequest(Struct, forbid_unknown_fields=True):
    reason: Text | None = None


class RefundCreate(Struct, forbid_unknown_fields=True):
    amount: Money | None = None


# --- statements and reports ----------------------------------------------------------


class StatementLine(Struct):
    currency: str
    bookings: int
    gross: Money
    refunds: Money
    fees: Money
    fee_refunds: Money
    disputes: Money
    net: SignedMoney


class Statement(Struct):
    data: list[StatementLine]


class FeeReportLine(Struct):
    tenant_id: str
    tenant_slug: str
    currency: str
    bookings: int
    fees: Money
    fee_refunds: Money
    net_fees: Money


class FeeReport(Struct):
    data: list[FeeReportLine]


class Page(Struct, Generic[T]):
    """One page of a list: pass `next_cursor` as `cursor` for the next; None on the last."""

    data: list[T]
    next_cursor: str | None


# One named page type per list, so generated clients get typed items (a subclass of the
# generic Page loses its item type in the document).
class TenantPage(Struct):
    data: list[Tenant]
    next_cursor: str | None


class OfferingPage(Struct):
    data: list[Offering]
    next_cursor: str | None


class PublicOfferingPage(Struct):
    data: list[PublicOffering]
    next_cursor: str | None


class SlotPage(Struct):
    data: list[Slot]
    next_cursor: str | None


class BookingPage(Struct):
    data: list[Booking]
    next_cursor: str | None


class StatementFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class Health(Struct):
    status: str
