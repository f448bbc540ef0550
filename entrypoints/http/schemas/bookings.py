"""Bodies of a sale (API.md): quotes, checkouts, bookings with their terms, refunds and disputes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from domain.booking import BookingStatus, PaymentStatus
from domain.fee_quote import BearerKind
from domain.fees import RefundOnCancel
from domain.ledger import EntryKind
from entrypoints.http.schemas.catalogue import CancellationPolicy, FeePolicyRef
from entrypoints.http.schemas.wire import Email, Money, Name, Seats, Text, Url

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
