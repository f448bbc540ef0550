"""Rows to domain objects and back: the one translation between the tables and the domain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    Row,
)

from domain.booking import (
    Booking,
    BookingStatus,
    CancelledBy,
    Customer,
    Refund,
)
from domain.cancellation import CancellationPolicy, CancellationWindow, RefundSplit
from domain.dispute import Dispute, DisputeStatus, Recovery
from domain.fee_quote import BearerKind, FeePolicyScope, FeeQuote
from domain.fees import CurrencyAmounts, FeeBearer, FeePolicy, RefundOnCancel, Tier, TierMode
from domain.money import Money
from domain.offering import Offering, Slot
from domain.tenant import ChargeModel, ConnectStatus, Tenant

# --- Translating values -----------------------------------------------------------------


def _money_json(money: Money | None) -> dict[str, Any] | None:
    return None if money is None else {"amount": money.amount, "currency": money.currency}


def _money_from_json(data: Mapping[str, Any] | None) -> Money | None:
    return None if data is None else Money(int(data["amount"]), str(data["currency"]))


def _tiers_json(tiers: Iterable[Tier]) -> list[dict[str, Any]]:
    return [
        {
            "up_to": _money_json(tier.up_to),
            "percent_bps": tier.percent_bps,
            "fixed": _money_json(tier.fixed),
        }
        for tier in tiers
    ]


def _tiers_from_json(data: Iterable[Mapping[str, Any]]) -> tuple[Tier, ...]:
    return tuple(
        Tier(
            up_to=_money_from_json(tier["up_to"]),
            percent_bps=int(tier["percent_bps"]),
            fixed=_money_from_json(tier["fixed"]),
        )
        for tier in data
    )


def fee_policy_to_json(policy: FeePolicy) -> dict[str, Any]:
    """A fee policy as JSON with amounts in integer minor units (never floats)."""
    return {
        "version": policy.version,
        "percent_bps": policy.percent_bps,
        "fixed": _money_json(policy.fixed),
        "per_seat_fixed": _money_json(policy.per_seat_fixed),
        "tiers": _tiers_json(policy.tiers),
        "tier_mode": policy.tier_mode.value,
        "minimum": _money_json(policy.minimum),
        "maximum": _money_json(policy.maximum),
        "customer_share_bps": policy.bearer.customer_share_bps,
        "refund_on_cancel": policy.refund_on_cancel.value,
        "by_currency": [
            {
                "currency": amounts.currency,
                "fixed": _money_json(amounts.fixed),
                "per_seat_fixed": _money_json(amounts.per_seat_fixed),
                "tiers": _tiers_json(amounts.tiers),
                "minimum": _money_json(amounts.minimum),
                "maximum": _money_json(amounts.maximum),
            }
            for amounts in policy.by_currency
        ],
    }


def fee_policy_from_json(
    data: Mapping[str, Any], owner_id: str = "", scope: FeePolicyScope = FeePolicyScope.TENANT
) -> FeePolicy:
    """The stored policy, named as the tenant's (owner: tenant id) or an offering's."""
    return FeePolicy(
        percent_bps=int(data["percent_bps"]),
        fixed=_money_from_json(data["fixed"]),
        per_seat_fixed=_money_from_json(data["per_seat_fixed"]),
        tiers=_tiers_from_json(data["tiers"]),
        tier_mode=TierMode(data["tier_mode"]),
        minimum=_money_from_json(data["minimum"]),
        maximum=_money_from_json(data["maximum"]),
        bearer=FeeBearer(int(data["customer_share_bps"])),
        refund_on_cancel=RefundOnCancel(data["refund_on_cancel"]),
        version=int(data["version"]),
        by_currency=tuple(
            CurrencyAmounts(
                currency=str(amounts["currency"]),
                fixed=_money_from_json(amounts["fixed"]),
                per_seat_fixed=_money_from_json(amounts["per_seat_fixed"]),
                tiers=_tiers_from_json(amounts["tiers"]),
                minimum=_money_from_json(amounts["minimum"]),
                maximum=_money_from_json(amounts["maximum"]),
            )
            for amounts in data.get("by_currency") or ()
        ),
        id=owner_id,
        scope=scope,
    )


def _cancellation_policy_json(policy: CancellationPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {
        "windows": [
            {"hours_before": w.hours_before, "refund_percent": w.refund_percent}
            for w in policy.windows
        ]
    }


def _cancellation_policy_from_json(data: Mapping[str, Any] | None) -> CancellationPolicy | None:
    if data is None:
        return None
    return CancellationPolicy(
        tuple(
            CancellationWindow(int(w["hours_before"]), int(w["refund_percent"]))
            for w in data["windows"]
        )
    )


def _tenant_values(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "slug": tenant.slug,
        "country": tenant.country,
        "default_currency": tenant.default_currency,
        "timezone": tenant.timezone,
        "charge_model": tenant.charge_model.value,
        "account_id": tenant.connect.account_id,
        "charges_enabled": tenant.connect.charges_enabled,
        "payouts_enabled": tenant.connect.payouts_enabled,
        "details_submitted": tenant.connect.details_submitted,
        "requirements_due": list(tenant.connect.requirements_due),
        "connect_as_of": tenant.connect_as_of,
    }


def _tenant_from_row(row: Any) -> Tenant:
    return Tenant(
        id=row.id,
        name=row.name,
        slug=row.slug,
        country=row.country,
        default_currency=row.default_currency,
        timezone=row.timezone,
        charge_model=ChargeModel(row.charge_model),
        connect=ConnectStatus(
            account_id=row.account_id,
            charges_enabled=bool(row.charges_enabled),
            payouts_enabled=bool(row.payouts_enabled),
            details_submitted=bool(row.details_submitted),
            requirements_due=tuple(row.requirements_due),
        ),
        connect_as_of=row.connect_as_of,
    )


def _offering_values(offering: Offering) -> dict[str, Any]:
    return {
        "tenant_id": offering.tenant_id,
        "id": offering.id,
        "name": offering.name,
        "description": offering.description,
        "price_amount": offering.price.amount,
        "currency": offering.price.currency,
        "duration_minutes": offering.duration_minutes,
        "capacity": offering.capacity,
        "cancellation_policy": _cancellation_policy_json(offering.cancellation_policy),
        "archived": offering.archived,
        "max_seats_per_booking": offering.max_seats_per_booking,
    }


def _offering_from_row(row: Any) -> Offering:
    return Offering(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        price=Money(row.price_amount, row.currency),
        duration_minutes=row.duration_minutes,
        capacity=row.capacity,
        description=row.description,
        cancellation_policy=_cancellation_policy_from_json(row.cancellation_policy),
        fee_policy=None
        if row.fee_policy is None
        else fee_policy_from_json(row.fee_policy, row.id, FeePolicyScope.OFFERING),
        archived=bool(row.archived),
        max_seats_per_booking=row.max_seats_per_booking,
    )


def _slot_from_row(row: Any) -> Slot:
    return Slot(
        id=row.id,
        tenant_id=row.tenant_id,
        offering_id=row.offering_id,
        starts_at=row.starts_at,
        capacity=row.capacity,
        held=row.held,
        booked=row.booked,
        cancelled_at=row.cancelled_at,
        cancellation_reason=row.cancellation_reason,
    )


def booking_row(booking: Booking) -> dict[str, Any]:
    quote = booking.quote
    return {
        "tenant_id": booking.tenant_id,
        "id": booking.id,
        "offering_id": booking.offering_id,
        "slot_id": booking.slot_id,
        "seats": booking.seats,
        "starts_at": booking.starts_at,
        "customer_email": booking.customer.email,
        "customer_name": booking.customer.name,
        "currency": quote.currency,
        "unit_price": quote.unit_price.amount,
        "quote_seats": quote.seats,
        "subtotal": quote.subtotal.amount,
        "service_fee": quote.service_fee.amount,
        "customer_fee": quote.customer_fee.amount,
        "customer_total": quote.customer_total.amount,
        "application_fee": quote.application_fee.amount,
        "tenant_receives": quote.tenant_receives.amount,
        "fee_bearer": quote.fee_bearer.value,
        "fee_policy_version": quote.fee_policy_version,
        "fee_policy_id": quote.fee_policy_id,
        "fee_policy_scope": quote.fee_policy_scope.value,
        "refund_on_cancel": booking.refund_on_cancel.value,
        "status": booking.status.value,
        "payment_status": booking.payment_status.value,
        "hold_expires_at": booking.hold_expires_at,
        "created_at": booking.created_at,
        "gateway_session_id": booking.gateway_session_id,
        "payment_intent_id": booking.payment_intent_id,
        "cancelled_by": None if booking.cancelled_by is None else booking.cancelled_by.value,
        "cancellation_reason": booking.cancellation_reason,
        "access_token_hash": booking.access_token_hash,
        "cancellation_policy": _cancellation_policy_json(booking.cancellation_policy),
        "cancel_url": booking.cancel_url,
    }


def _refund_from_row(row: Any) -> Refund:
    return Refund(
        row.refund_id,
        RefundSplit(
            customer_refund=Money(row.customer_refund, row.currency),
            application_fee_refund=Money(row.application_fee_refund, row.currency),
        ),
        pending=row.pending,
        reason=row.reason,
        cancels=None if row.cancels is None else CancelledBy(row.cancels),
        reference=row.reference,
    )


def _dispute_values(dispute: Dispute) -> dict[str, Any]:
    recovery = dispute.recovery
    return {
        "tenant_id": dispute.tenant_id,
        "dispute_id": dispute.dispute_id,
        "booking_id": dispute.booking_id,
        "amount": dispute.amount.amount,
        "currency": dispute.amount.currency,
        "reason": dispute.reason,
        "created_at": dispute.created_at,
        "status": dispute.status.value,
        "is_charge_refundable": dispute.is_charge_refundable,
        "closed_at": dispute.closed_at,
        "as_of": dispute.as_of,
        "recovery_reference": None if recovery is None else recovery.reference,
        "recovery_amount": None if recovery is None else recovery.amount.amount,
        "recovery_reversal_id": None if recovery is None else recovery.reversal_id,
    }


def _dispute_from_row(row: Any) -> Dispute:
    recovery = None
    if row.recovery_reference is not None:
        recovery = Recovery(
            row.recovery_reference,
            Money(row.recovery_amount, row.currency),
            row.recovery_reversal_id,
        )
    return Dispute(
        tenant_id=row.tenant_id,
        booking_id=row.booking_id,
        dispute_id=row.dispute_id,
        amount=Money(row.amount, row.currency),
        reason=row.reason,
        created_at=row.created_at,
        status=DisputeStatus(row.status),
        is_charge_refundable=row.is_charge_refundable,
        closed_at=row.closed_at,
        as_of=row.as_of,
        recovery=recovery,
    )


# Disputes exist only on paid bookings: only their reads look for them.
_PAID_STATUSES = frozenset({BookingStatus.CONFIRMED.value, BookingStatus.CANCELLED.value})


def _booking_from_row(row: Row[Any], refunds: Iterable[Refund]) -> Booking:
    currency = row.currency

    def money(amount: int) -> Money:
        return Money(amount, currency)

    quote = FeeQuote(
        subtotal=money(row.subtotal),
        service_fee=money(row.service_fee),
        customer_fee=money(row.customer_fee),
        customer_total=money(row.customer_total),
        application_fee=money(row.application_fee),
        tenant_receives=money(row.tenant_receives),
        fee_bearer=BearerKind(row.fee_bearer),
        fee_policy_version=row.fee_policy_version,
        seats=row.quote_seats,
        unit_price=money(row.unit_price),
        fee_policy_id=row.fee_policy_id,
        fee_policy_scope=FeePolicyScope(row.fee_policy_scope),
    )
    return Booking(
        id=row.id,
        tenant_id=row.tenant_id,
        offering_id=row.offering_id,
        slot_id=row.slot_id,
        seats=row.seats,
        starts_at=row.starts_at,
        customer=Customer(email=row.customer_email, name=row.customer_name),
        quote=quote,
        refund_on_cancel=RefundOnCancel(row.refund_on_cancel),
        hold_expires_at=row.hold_expires_at,
        created_at=row.created_at,
        status=BookingStatus(row.status),
        gateway_session_id=row.gateway_session_id,
        payment_intent_id=row.payment_intent_id,
        refunds=tuple(refunds),
        cancelled_by=None if row.cancelled_by is None else CancelledBy(row.cancelled_by),
        cancellation_reason=row.cancellation_reason,
        access_token_hash=row.access_token_hash,
        cancellation_policy=_cancellation_policy_from_json(row.cancellation_policy),
        cancel_url=row.cancel_url,
    )
