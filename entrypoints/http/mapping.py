"""Translate between the wire schemas and domain objects, in both directions."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from domain import booking as b
from domain import fee_quote as q
from domain import fees as f
from domain import ledger as lg
from domain import terms as t
from domain.cancellation import CancellationPolicy, CancellationWindow
from domain.dispute import Dispute
from domain.money import Money, exponent
from domain.offering import Offering, Slot
from domain.tenant import ConnectStatus, Tenant
from entrypoints.http import schemas as s

# --- requests → domain ---------------------------------------------------------------


def money_in(value: s.Money) -> Money:
    return Money(value.amount, value.currency)


def _opt_money(value: s.Money | None) -> Money | None:
    return money_in(value) if value is not None else None


def fee_policy_in(policy: s.FeePolicy) -> f.FeePolicy:
    if isinstance(policy.bearer, s.BearerSplit):
        bearer = f.FeeBearer.split(policy.bearer.customer_share_bps)
    elif policy.bearer == "tenant":
        bearer = f.FeeBearer.tenant()
    else:
        bearer = f.FeeBearer.customer()
    return f.FeePolicy(
        by_currency=tuple(
            f.CurrencyAmounts(
                currency=currency,
                fixed=_opt_money(amounts.fixed),
                per_seat_fixed=_opt_money(amounts.per_seat_fixed),
                tiers=_tiers_in(amounts.tiers),
                minimum=_opt_money(amounts.min),
                maximum=_opt_money(amounts.max),
            )
            for currency, amounts in (policy.by_currency or {}).items()
        ),
        percent_bps=policy.percent_bps or 0,
        fixed=_opt_money(policy.fixed),
        per_seat_fixed=_opt_money(policy.per_seat_fixed),
        tiers=_tiers_in(policy.tiers),
        tier_mode=f.TierMode(policy.tier_mode),
        minimum=_opt_money(policy.min),
        maximum=_opt_money(policy.max),
        bearer=bearer,
        refund_on_cancel=f.RefundOnCancel(policy.refund_on_cancel),
    )


def _tiers_in(tiers: list[s.Tier] | None) -> tuple[f.Tier, ...]:
    return tuple(
        f.Tier(_opt_money(t.up_to), t.percent_bps, _opt_money(t.fixed)) for t in tiers or ()
    )


def cancellation_policy_in(policy: s.CancellationPolicy) -> CancellationPolicy:
    return CancellationPolicy(
        tuple(CancellationWindow(w.hours_before, w.refund_percent) for w in policy.windows)
    )


# --- domain → responses --------------------------------------------------------------


def money_out(value: Money) -> s.Money:
    return s.Money(amount=value.amount, currency=value.currency)


def _opt_money_out(value: Money | None) -> s.Money | None:
    return money_out(value) if value is not None else None


def fee_policy_out(policy: f.FeePolicy) -> s.FeePolicy:
    bearer: s.FeeBearer | s.BearerSplit
    kind = policy.bearer.kind
    if kind is q.BearerKind.SPLIT:
        bearer = s.BearerSplit(customer_share_bps=policy.bearer.customer_share_bps)
    else:
        bearer = s.FeeBearer(kind.value)
    return s.FeePolicy(
        percent_bps=policy.percent_bps,
        fixed=_opt_money_out(policy.fixed),
        per_seat_fixed=_opt_money_out(policy.per_seat_fixed),
        tiers=_tiers_out(policy.tiers),
        tier_mode=policy.tier_mode,
        min=_opt_money_out(policy.minimum),
        max=_opt_money_out(policy.maximum),
        bearer=bearer,
        refund_on_cancel=policy.refund_on_cancel,
        by_currency={
            amounts.currency: s.CurrencyAmounts(
                fixed=_opt_money_out(amounts.fixed),
                per_seat_fixed=_opt_money_out(amounts.per_seat_fixed),
                tiers=_tiers_out(amounts.tiers),
                min=_opt_money_out(amounts.minimum),
                max=_opt_money_out(amounts.maximum),
            )
            for amounts in policy.by_currency
        }
        or None,
    )


def _tiers_out(tiers: Sequence[f.Tier]) -> list[s.Tier] | None:
    listed = [
        s.Tier(
            up_to=_opt_money_out(t.up_to), percent_bps=t.percent_bps, fixed=_opt_money_out(t.fixed)
        )
        for t in tiers
    ]
    return listed or None


def fee_policy_ref_out(ref: q.FeePolicyRef) -> s.FeePolicyRef:
    return s.FeePolicyRef(id=ref.id, version=ref.version, scope=ref.scope.value)


def applied_policy_out(policy: f.FeePolicy) -> s.AppliedFeePolicy:
    return s.AppliedFeePolicy(
        id=policy.id,
        version=policy.version,
        scope=policy.scope.value,
        policy=fee_policy_out(policy),
    )


def versioned_policy_out(policy: f.FeePolicy | None) -> s.VersionedFeePolicy | None:
    if policy is None:
        return None
    return s.VersionedFeePolicy(version=policy.version, policy=fee_policy_out(policy))


def connect_out(status: ConnectStatus) -> s.ConnectStatus:
    return s.ConnectStatus(
        account_id=status.account_id,
        charges_enabled=status.charges_enabled,
        payouts_enabled=status.payouts_enabled,
        details_submitted=status.details_submitted,
        requirements_due=list(status.requirements_due),
    )


def tenant_out(tenant: Tenant, policy: f.FeePolicy | None) -> s.Tenant:
    return s.Tenant(
        id=tenant.id,
        name=tenant.name,
        slug=tenant.slug,
        country=tenant.country,
        default_currency=tenant.default_currency,
        timezone=tenant.timezone,
        charge_model=tenant.charge_model,
        can_sell=tenant.can_sell,
        connect=connect_out(tenant.connect),
        fee_policy=versioned_policy_out(policy),
    )


def cancellation_policy_out(policy: CancellationPolicy | None) -> s.CancellationPolicy | None:
    if policy is None:
        return None
    return s.CancellationPolicy(
        windows=[
            s.CancellationWindow(hours_before=w.hours_before, refund_percent=w.refund_percent)
            for w in policy.windows
        ]
    )


def offering_out(offering: Offering) -> s.Offering:
    return s.Offering(
        id=offering.id,
        name=offering.name,
        description=offering.description or None,
        price=money_out(offering.price),
        duration_minutes=offering.duration_minutes,
        capacity=offering.capacity,
        cancellation_policy=cancellation_policy_out(offering.cancellation_policy),
        fee_policy=fee_policy_out(offering.fee_policy) if offering.fee_policy else None,
        archived=offering.archived,
        max_seats_per_booking=offering.max_seats_per_booking,
    )


def public_offering_out(offering: Offering) -> s.PublicOffering:
    return s.PublicOffering(
        id=offering.id,
        name=offering.name,
        description=offering.description or None,
        price=money_out(offering.price),
        duration_minutes=offering.duration_minutes,
        capacity=offering.capacity,
        cancellation_policy=cancellation_policy_out(offering.cancellation_policy),
    )


def slot_out(slot: Slot) -> s.Slot:
    return s.Slot(
        id=slot.id,
        offering_id=slot.offering_id,
        starts_at=slot.starts_at,
        capacity=slot.capacity,
        seats_available=0 if slot.is_cancelled else slot.seats_available,
        status="cancelled" if slot.is_cancelled else "open",
    )


def quote_out(quote: q.FeeQuote) -> s.Quote:
    return s.Quote(
        subtotal=money_out(quote.subtotal),
        service_fee=money_out(quote.service_fee),
        customer_total=money_out(quote.customer_total),
        application_fee=money_out(quote.application_fee),
        tenant_receives=money_out(quote.tenant_receives),
        fee_bearer=quote.fee_bearer,
        fee_policy_version=quote.fee_policy_version,
        fee_policy=fee_policy_ref_out(quote.fee_policy),
    )


def public_quote_out(quote: q.FeeQuote) -> s.PublicQuote:
    return s.PublicQuote(
        subtotal=money_out(quote.subtotal),
        service_fee=money_out(quote.customer_fee),
        customer_total=money_out(quote.customer_total),
    )


def _booking_fields(booking: b.Booking, *, for_tenant: bool) -> dict[str, Any]:
    """What every view of a booking shows; the quote is the view's own."""
    return {
        "id": booking.id,
        "status": booking.status,
        "payment_status": booking.payment_status,
        "offering_id": booking.offering_id,
        "slot_id": booking.slot_id,
        "seats": booking.seats,
        "starts_at": booking.starts_at,
        "customer": s.Customer(email=booking.customer.email, name=booking.customer.name),
        "hold_expires_at": booking.hold_expires_at,
        "created_at": booking.created_at,
        "refunded": money_out(booking.refunded.customer_refund),
        "terms": terms_out(booking.terms, for_tenant=for_tenant),
    }


def public_booking_out(booking: b.Booking) -> s.PublicBooking:
    """The customer's side only: never the application fee or the fee policy."""
    return s.PublicBooking(
        **_booking_fields(booking, for_tenant=False), quote=public_quote_out(booking.quote)
    )


def booking_out(booking: b.Booking, *, for_tenant: bool = False) -> s.Booking:
    return s.Booking(
        **_booking_fields(booking, for_tenant=for_tenant), quote=quote_out(booking.quote)
    )


def terms_out(terms: t.Terms, *, for_tenant: bool) -> s.Terms:
    """The terms of sale; the fee policy's identity only for the tenant."""
    identity = terms.fee_policy
    return s.Terms(
        cancellation_policy=cancellation_policy_out(terms.cancellation_policy),
        refund_on_cancel=terms.refund_on_cancel,
        fee_policy=fee_policy_ref_out(identity) if for_tenant else msgspec.UNSET,
    )


def tenant_booking_out(
    booking: b.Booking, ledger: list[lg.LedgerEntry], disputes: Sequence[Dispute] = ()
) -> s.TenantBooking:
    view = booking_out(booking, for_tenant=True)
    return s.TenantBooking(
        **{field: getattr(view, field) for field in view.__struct_fields__},
        payment_intent=booking.payment_intent_id,
        ledger=[
            s.LedgerEntry(
                kind=e.kind,
                amount=money_out(e.amount),
                gateway_ref=e.gateway_ref,
                created_at=e.created_at,
                borne_by=e.borne_by.value,
            )
            for e in ledger
        ],
        disputes=[
            s.Dispute(
                id=d.dispute_id,
                amount=money_out(d.amount),
                reason=d.reason,
                status=d.status.value,
                is_charge_refundable=d.is_charge_refundable,
                opened_at=d.created_at,
                closed_at=d.closed_at,
            )
            for d in disputes or booking.disputes
        ],
    )


def statement_line_out(line: lg.StatementLine) -> s.StatementLine:
    return s.StatementLine(
        currency=line.currency,
        bookings=line.bookings,
        gross=money_out(line.gross),
        refunds=money_out(line.refunds),
        fees=money_out(line.fees),
        fee_refunds=money_out(line.fee_refunds),
        disputes=money_out(line.disputes),
        net=s.SignedMoney(amount=line.net.amount, currency=line.net.currency),
    )


def major_units(money: s.Money | s.SignedMoney) -> str:
    """The amount as people write it, with the currency's own decimals: 4230 cents →
    `42.30`, 1500 yen → `1500`, 1250 fils → `1.250`, −230 cents → `-2.30`."""
    places = exponent(money.currency)
    return f"{Decimal(money.amount).scaleb(-places):.{places}f}"
