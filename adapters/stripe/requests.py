"""Stripe request parameters, built as Stripe's API takes them (pure, so tests can read them).

Shapes follow Stripe's OpenAPI spec for API version 2023-08-16 (the version the gateway pins):
`POST /v1/accounts`, `POST /v1/account_links`, `POST /v1/checkout/sessions`,
`POST /v1/refunds`, and the `limit`/`starting_after` pagination of every list.
"""

from __future__ import annotations

from typing import Any

from adapters.stripe_wire.events import REFUND_REASONS, REFUND_REFERENCE
from application.ports.gateway import CheckoutRequest, RefundRequest
from domain.hold import VOUCHER_DAYS
from domain.tenant import ChargeModel


def account_params(*, tenant_id: str, country: str, email: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "type": "express",
        "country": country.upper(),
        "capabilities": {
            "card_payments": {"requested": True},
            "transfers": {"requested": True},
        },
        "metadata": {"tenant_id": tenant_id},
    }
    if email:
        params["email"] = email
    return params


def account_link_params(*, account_id: str, refresh_url: str, return_url: str) -> dict[str, Any]:
    return {
        "account": account_id,
        "type": "account_onboarding",
        "refresh_url": refresh_url,
        "return_url": return_url,
    }


def checkout_session_params(request: CheckoutRequest) -> dict[str, Any]:
    """A payment-mode Checkout Session for one booking attempt, as Stripe's API takes it."""
    metadata = {
        "tenant_id": request.tenant_id,
        "booking_id": request.booking_id,
        "fee_policy_version": str(request.fee_policy_version),
    }
    payment_intent_data: dict[str, Any] = {
        "metadata": {"tenant_id": request.tenant_id, "booking_id": request.booking_id}
    }
    if request.application_fee.amount > 0:
        payment_intent_data["application_fee_amount"] = request.application_fee.amount
    if request.charge_model is ChargeModel.DESTINATION:
        payment_intent_data["transfer_data"] = {"destination": request.account_id}
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": line.unit_amount.currency,
                    "unit_amount": line.unit_amount.amount,
                    "product_data": {"name": line.name},
                },
                "quantity": line.quantity,
            }
            for line in request.line_items
        ],
        "client_reference_id": request.booking_id,
        "metadata": metadata,
        "expires_at": int(request.expires_at.timestamp()),
        "customer_email": request.customer_email,
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "payment_intent_data": payment_intent_data,
        # Vouchers can be paid for VOUCHER_DAYS days; the seats stay held that long (plus a
        # day), then Bookpay's sweeper ends the hold (domain/hold.py).
        "payment_method_options": {
            method: {"expires_after_days": VOUCHER_DAYS} for method in ("boleto", "konbini", "oxxo")
        },
    }


def refund_params(request: RefundRequest) -> dict[str, Any]:
    metadata = {"booking_id": request.booking_id, REFUND_REFERENCE: request.idempotency_key}
    params: dict[str, Any] = {
        "payment_intent": request.payment_intent_id,
        "amount": request.amount.amount,
        "refund_application_fee": request.refund_application_fee,
        "metadata": metadata,
    }
    # A direct charge has no transfer to reverse; Stripe refuses the parameter there.
    if request.charge_model is ChargeModel.DESTINATION:
        params["reverse_transfer"] = request.reverse_transfer
    if request.reason in REFUND_REASONS:
        params["reason"] = request.reason
    elif request.reason:
        metadata["reason"] = request.reason[:500]
    return params


def list_page(params: dict[str, Any], after: str | None) -> dict[str, Any]:
    """One page of a Stripe list: the largest Stripe allows, after the object `after`."""
    page = {**params, "limit": 100}
    if after is not None:
        page["starting_after"] = after
    return page
