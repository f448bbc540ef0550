"""Stripe JSON (API version 2023-08-16) → the port's gateway-neutral values.

Both gateways read Stripe-shaped objects — the real one from the API, the fake from its own
store — so both translate them here, and nothing Stripe-typed crosses the port.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.stripe_wire import signature as stripe_signature
from application.errors import InvalidWebhookPayload
from application.ports.gateway import (
    CheckoutSession,
    DisputeFacts,
    PaymentIntentStatus,
    PaymentSnapshot,
    PaymentStatus,
    RefundResult,
    SessionStatus,
)
from application.ports.gateway_events import (
    AccountUpdated,
    ApplicationFeeRefunded,
    AsyncPaymentFailed,
    AsyncPaymentSucceeded,
    ChargeRefunded,
    CheckoutCompleted,
    CheckoutExpired,
    DisputeClosed,
    DisputeCreated,
    DisputeEvent,
    DisputeFunds,
    DisputeFundsReinstated,
    DisputeFundsWithdrawn,
    DisputeUpdated,
    IgnoredEvent,
    PaymentEvent,
    RefundRecord,
)
from domain.dispute import DisputeStatus
from domain.errors import DomainError
from domain.money import Money
from domain.tenant import ConnectStatus

StripeObject = Mapping[str, Any]

# The `reason` values Stripe accepts on a refund.
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


class MalformedStripeObject(Exception):
    """A Stripe object lacks a field we rely on or has it in an unexpected type."""


def _field(obj: StripeObject, key: str, kind: type | tuple[type, ...]) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedStripeObject(f"{obj.get('object', 'object')}.{key} is {value!r}")
    return value


# "You can safely assume object IDs we generate will never exceed 255 characters"
# (Stripe, docs.stripe.com/upgrades, backwards-compatible changes): a longer one is no
# Stripe id, and would not fit the columns that keep ids.
STRIPE_ID_MAX_LENGTH = 255


def _stripe_id(obj: StripeObject, key: str) -> str:
    """A required id field: a string of at most STRIPE_ID_MAX_LENGTH characters."""
    return _within_id_length(obj, key, _field(obj, key, str))


def _optional_stripe_id(obj: StripeObject, key: str) -> str | None:
    """An id field that may be absent, null or an expanded object (its `id`)."""
    value = _optional_str(obj, key)
    return None if value is None else _within_id_length(obj, key, value)


def _within_id_length(obj: StripeObject, key: str, value: str) -> str:
    if len(value) > STRIPE_ID_MAX_LENGTH:
        name = f"{obj.get('object', 'object')}.{key}"
        raise MalformedStripeObject(
            f"{name} is {len(value)} characters, over Stripe's {STRIPE_ID_MAX_LENGTH}"
        )
    return value


def _optional_str(obj: StripeObject, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])  # an expanded object
    raise MalformedStripeObject(f"{obj.get('object', 'object')}.{key} is {value!r}")


def _money(obj: StripeObject, amount_key: str) -> Money:
    try:
        return Money(_field(obj, amount_key, int), _field(obj, "currency", str))
    except DomainError as error:
        raise MalformedStripeObject(str(error)) from error


def _optional_money(obj: StripeObject, amount_key: str) -> Money | None:
    if obj.get(amount_key) is None or obj.get("currency") is None:
        return None
    return _money(obj, amount_key)


def _timestamp(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _booking_id(session: StripeObject) -> str | None:
    metadata = session.get("metadata") or {}
    return _optional_str(session, "client_reference_id") or metadata.get("booking_id")


def checkout_session_from_stripe(
    session: StripeObject, account_id: str | None = None
) -> CheckoutSession:
    """A `checkout.session` object; `account_id` is the connected account it lives on.
    With its `payment_intent` expanded, the intent's status too."""
    try:
        expires_at = session.get("expires_at")
        intent = session.get("payment_intent")
        intent_status = intent.get("status") if isinstance(intent, Mapping) else None
        return CheckoutSession(
            session_id=_stripe_id(session, "id"),
            url=_optional_str(session, "url"),
            status=SessionStatus(_field(session, "status", str)),
            payment_status=PaymentStatus(_field(session, "payment_status", str)),
            booking_id=_booking_id(session),
            amount_total=_optional_money(session, "amount_total"),
            expires_at=_timestamp(expires_at) if isinstance(expires_at, int) else None,
            payment_intent_id=_optional_stripe_id(session, "payment_intent"),
            account_id=account_id,
            payment_intent_status=(
                None if intent_status is None else PaymentIntentStatus(intent_status)
            ),
        )
    except ValueError as error:
        raise MalformedStripeObject(str(error)) from error


def connect_status_from_stripe(account: StripeObject) -> ConnectStatus:
    """An `account` object: whether it can take charges and what it still owes Stripe."""
    requirements = account.get("requirements") or {}
    due = requirements.get("currently_due") or []
    return ConnectStatus(
        account_id=_stripe_id(account, "id"),
        charges_enabled=bool(account.get("charges_enabled")),
        payouts_enabled=bool(account.get("payouts_enabled")),
        details_submitted=bool(account.get("details_submitted")),
        requirements_due=tuple(str(item) for item in due),
    )


# The refund metadata key that carries Bookpay's reference (the refund's reservation id).
REFUND_REFERENCE = "bookpay_refund"
# The transfer reversal metadata key that carries Bookpay's reference (e.g. a lost dispute's).
REVERSAL_REFERENCE = "bookpay_reversal"


def refund_result_from_stripe(refund: StripeObject) -> RefundResult:
    metadata = refund.get("metadata") or {}
    reference = metadata.get(REFUND_REFERENCE)
    return RefundResult(
        refund_id=_stripe_id(refund, "id"),
        amount=_money(refund, "amount"),
        status=_field(refund, "status", str),
        reference=reference if isinstance(reference, str) else None,
    )


def dispute_facts_from_stripe(dispute: StripeObject) -> DisputeFacts:
    """A `dispute` object, with the balance transactions listed in it."""
    try:
        return DisputeFacts(
            dispute_id=_stripe_id(dispute, "id"),
            amount=_money(dispute, "amount"),
            reason=str(dispute.get("reason") or ""),
            status=DisputeStatus(_field(dispute, "status", str)),
            is_charge_refundable=_field(dispute, "is_charge_refundable", bool),
            opened_at=_timestamp(_field(dispute, "created", int)),
            balance_transactions=tuple(
                _dispute_funds(transaction)
                for transaction in dispute.get("balance_transactions") or ()
                if isinstance(transaction, Mapping)
            ),
        )
    except ValueError as error:
        raise MalformedStripeObject(str(error)) from error


def payment_snapshot_from_stripe(
    charge: StripeObject,
    refunds: Sequence[StripeObject],
    application_fee: StripeObject | None,
    disputes: Sequence[StripeObject],
) -> PaymentSnapshot:
    """A `charge` object, the `refund`s listed for it, its `application_fee` (None when it
    took none) and the `dispute`s listed for it."""
    fee = None if application_fee is None else _money(application_fee, "amount")
    fee_refunded = None if application_fee is None else _money(application_fee, "amount_refunded")
    charge_id = _stripe_id(charge, "id")
    return PaymentSnapshot(
        payment_intent_id=_optional_stripe_id(charge, "payment_intent") or charge_id,
        charge_id=charge_id,
        amount=_money(charge, "amount"),
        amount_refunded=_money(charge, "amount_refunded"),
        refunds=tuple(refund_result_from_stripe(refund) for refund in refunds),
        application_fee=fee,
        application_fee_refunded=fee_refunded,
        disputes=tuple(dispute_facts_from_stripe(dispute) for dispute in disputes),
    )


# --- Events ------------------------------------------------------------------------------


def _checkout_completed(base: dict[str, Any], session: StripeObject) -> PaymentEvent:
    status = PaymentStatus(_field(session, "payment_status", str))
    return CheckoutCompleted(
        **base,
        session_id=_stripe_id(session, "id"),
        booking_id=_booking_id(session),
        paid=status is not PaymentStatus.UNPAID,
        payment_intent_id=_optional_stripe_id(session, "payment_intent"),
        amount_total=_optional_money(session, "amount_total"),
    )


def _async_succeeded(base: dict[str, Any], session: StripeObject) -> PaymentEvent:
    return AsyncPaymentSucceeded(
        **base,
        session_id=_stripe_id(session, "id"),
        booking_id=_booking_id(session),
        payment_intent_id=_optional_stripe_id(session, "payment_intent"),
        amount_total=_optional_money(session, "amount_total"),
    )


def _async_failed(base: dict[str, Any], session: StripeObject) -> PaymentEvent:
    return AsyncPaymentFailed(
        **base,
        session_id=_stripe_id(session, "id"),
        booking_id=_booking_id(session),
        amount_total=_optional_money(session, "amount_total"),
    )


def _expired(base: dict[str, Any], session: StripeObject) -> PaymentEvent:
    return CheckoutExpired(
        **base,
        session_id=_stripe_id(session, "id"),
        booking_id=_booking_id(session),
        amount_total=_optional_money(session, "amount_total"),
    )


def _charge_refunded(base: dict[str, Any], charge: StripeObject) -> PaymentEvent:
    # Since API version 2022-11-15 a charge's `refunds` list is only present when expanded.
    listed = charge.get("refunds") or {}
    refunds = tuple(
        RefundRecord(refund_id=_stripe_id(refund, "id"), amount=_money(refund, "amount"))
        for refund in (listed.get("data") or [])
    )
    return ChargeRefunded(
        **base,
        charge_id=_stripe_id(charge, "id"),
        payment_intent_id=_optional_stripe_id(charge, "payment_intent"),
        amount_refunded=_money(charge, "amount_refunded"),
        refunds=refunds,
    )


def _dispute_funds(transaction: StripeObject) -> DisputeFunds:
    """A balance transaction of a dispute (listed in full on the dispute object)."""
    return DisputeFunds(
        balance_transaction_id=_stripe_id(transaction, "id"),
        amount=_money(transaction, "amount"),
        fee=_money(transaction, "fee"),
    )


def _dispute(kind: type[DisputeEvent]) -> Callable[[dict[str, Any], StripeObject], PaymentEvent]:
    def translate(base: dict[str, Any], dispute: StripeObject) -> PaymentEvent:
        created = dispute.get("created")
        return kind(
            **base,
            dispute_id=_stripe_id(dispute, "id"),
            charge_id=_optional_stripe_id(dispute, "charge") or "",
            payment_intent_id=_optional_stripe_id(dispute, "payment_intent"),
            amount=_money(dispute, "amount"),
            reason=str(dispute.get("reason") or ""),
            status=DisputeStatus(_field(dispute, "status", str)),
            is_charge_refundable=_field(dispute, "is_charge_refundable", bool),
            opened_at=_timestamp(created) if isinstance(created, int) else None,
            balance_transactions=tuple(
                _dispute_funds(transaction)
                for transaction in dispute.get("balance_transactions") or ()
                if isinstance(transaction, Mapping)
            ),
        )

    return translate


def _application_fee_refunded(base: dict[str, Any], fee: StripeObject) -> PaymentEvent:
    # The fee names its charge; a charge expanded in the event names its payment too.
    charge = fee.get("charge")
    payment = _optional_stripe_id(charge, "payment_intent") if isinstance(charge, Mapping) else None
    return ApplicationFeeRefunded(
        **base,
        fee_id=_stripe_id(fee, "id"),
        charge_id=_optional_stripe_id(fee, "charge") or "",
        payment_intent_id=payment,
        amount_refunded=_money(fee, "amount_refunded"),
        fee_account_id=_optional_stripe_id(fee, "account"),
    )


def _account_updated(base: dict[str, Any], account: StripeObject) -> PaymentEvent:
    # `account_id` stays the event's `account`: the snapshot is applied to that account only.
    return AccountUpdated(**base, status=connect_status_from_stripe(account))


_TRANSLATORS: dict[str, Callable[[dict[str, Any], StripeObject], PaymentEvent]] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _async_succeeded,
    "checkout.session.async_payment_failed": _async_failed,
    "checkout.session.expired": _expired,
    "charge.refunded": _charge_refunded,
    "application_fee.refunded": _application_fee_refunded,
    "charge.dispute.created": _dispute(DisputeCreated),
    "charge.dispute.updated": _dispute(DisputeUpdated),
    "charge.dispute.closed": _dispute(DisputeClosed),
    "charge.dispute.funds_withdrawn": _dispute(DisputeFundsWithdrawn),
    "charge.dispute.funds_reinstated": _dispute(DisputeFundsReinstated),
    "account.updated": _account_updated,
}


def translate_event(event: StripeObject, *, livemode: bool = False) -> PaymentEvent:
    """A decoded Stripe `event` object → the port's event.

    `livemode` is the mode of the key Bookpay runs with: an event of the other mode (a test
    event reaching a live integration, or the reverse) is an IgnoredEvent, as is an
    unknown type.
    """
    try:
        event_type = _field(event, "type", str)
        base: dict[str, Any] = {
            "event_id": _stripe_id(event, "id"),
            "created_at": _timestamp(_field(event, "created", int)),
            "account_id": _optional_stripe_id(event, "account"),
        }
        if _field(event, "livemode", bool) is not livemode:
            mode = "live" if livemode else "test"
            return IgnoredEvent(**base, type=event_type, reason=f"not a {mode}-mode event")
        translator = _TRANSLATORS.get(event_type)
        if translator is None:
            return IgnoredEvent(**base, type=event_type)
        data = _field(event, "data", Mapping)
        return translator(base, _field(data, "object", Mapping))
    except (MalformedStripeObject, ValueError) as error:
        raise InvalidWebhookPayload(f"unreadable Stripe event: {error}") from error


def verified_event(
    payload: bytes,
    signature_header: str,
    secret: str,
    *,
    now: datetime,
    tolerance_seconds: int,
    livemode: bool,
) -> PaymentEvent:
    """Check Stripe's signature over the raw body, then translate the event (see
    translate_event for `livemode`)."""
    stripe_signature.verify(
        payload, signature_header, secret, now=now, tolerance_seconds=tolerance_seconds
    )
    return parse_event(payload, livemode=livemode)


def parse_event(payload: bytes, *, livemode: bool = False) -> PaymentEvent:
    """The raw (already verified) webhook body → the port's event."""
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidWebhookPayload("the webhook body is not JSON") from error
    except RecursionError as error:  # nested deeper than any Stripe event is
        raise InvalidWebhookPayload("the webhook body is nested too deeply") from error
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidWebhookPayload("the webhook body is not a Stripe event")
    return translate_event(event, livemode=livemode)
