"""Gateway-neutral payment events, parsed from verified webhooks by the gateway adapters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.dispute import DisputeSnapshot, DisputeStatus
from domain.money import Money
from domain.tenant import ConnectStatus

# Gateway-neutral payment events, parsed from verified webhooks.


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    event_id: str
    created_at: datetime
    account_id: str | None


@dataclass(frozen=True, slots=True)
class CheckoutSessionEvent(PaymentEvent):
    """An event about one checkout session, with the session as it was when sent:
    `amount_total` is what it charges (None when the event leaves it out)."""

    session_id: str
    booking_id: str | None
    amount_total: Money | None


@dataclass(frozen=True, slots=True)
class CheckoutCompleted(CheckoutSessionEvent):
    paid: bool
    payment_intent_id: str | None


@dataclass(frozen=True, slots=True)
class AsyncPaymentSucceeded(CheckoutSessionEvent):
    payment_intent_id: str | None


@dataclass(frozen=True, slots=True)
class AsyncPaymentFailed(CheckoutSessionEvent):
    pass


@dataclass(frozen=True, slots=True)
class CheckoutExpired(CheckoutSessionEvent):
    pass


@dataclass(frozen=True, slots=True)
class RefundRecord:
    refund_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ChargeRefunded(PaymentEvent):
    charge_id: str
    payment_intent_id: str | None
    amount_refunded: Money
    refunds: tuple[RefundRecord, ...]
    # What the payment's application fee has given back in all, as the gateway reports it
    # (read when the event is checked); None when not read or the payment has no fee.
    fee_refunded: Money | None = None


@dataclass(frozen=True, slots=True)
class DisputeFunds:
    """One balance transaction of a dispute: `amount` is negative when funds were
    withdrawn, positive when reinstated; `fee` is Stripe's dispute fee on it (minor units,
    in the amount's currency)."""

    balance_transaction_id: str
    amount: Money
    fee: Money


@dataclass(frozen=True, slots=True)
class DisputeEvent(PaymentEvent):
    """A `charge.dispute.*` event: the dispute as Stripe saw it when it sent the event."""

    dispute_id: str
    charge_id: str
    payment_intent_id: str | None
    amount: Money
    reason: str
    status: DisputeStatus = DisputeStatus.NEEDS_RESPONSE
    is_charge_refundable: bool = False
    # When the customer opened it (Stripe's dispute `created`); None: the event's time.
    opened_at: datetime | None = None
    balance_transactions: tuple[DisputeFunds, ...] = ()

    def snapshot(self) -> DisputeSnapshot:
        return DisputeSnapshot(
            dispute_id=self.dispute_id,
            amount=self.amount,
            reason=self.reason,
            status=self.status,
            is_charge_refundable=self.is_charge_refundable,
            opened_at=self.opened_at or self.created_at,
            as_of=self.created_at,
        )


@dataclass(frozen=True, slots=True)
class DisputeCreated(DisputeEvent):
    """`charge.dispute.created`."""


@dataclass(frozen=True, slots=True)
class DisputeUpdated(DisputeEvent):
    """`charge.dispute.updated` (e.g. evidence submitted: under review)."""


@dataclass(frozen=True, slots=True)
class DisputeClosed(DisputeEvent):
    """`charge.dispute.closed`: won, lost or warning_closed."""


@dataclass(frozen=True, slots=True)
class DisputeFundsWithdrawn(DisputeEvent):
    """`charge.dispute.funds_withdrawn`: the disputed amount (and fee) left the balance."""


@dataclass(frozen=True, slots=True)
class DisputeFundsReinstated(DisputeEvent):
    """`charge.dispute.funds_reinstated`: a won dispute gave the funds back."""


@dataclass(frozen=True, slots=True)
class ApplicationFeeRefunded(PaymentEvent):
    """`application_fee.refunded`: the platform's application fee on a charge has given
    back `amount_refunded` in all (minor units of the fee's currency).

    The fee names its charge, not the payment: `payment_intent_id` is None as parsed and
    is looked up from the gateway when the event is checked. `fee_account_id` is the
    connected account the fee was taken from (the tenant's).
    """

    fee_id: str
    charge_id: str
    payment_intent_id: str | None
    amount_refunded: Money
    fee_account_id: str | None = None


# What happened to a payment after it was made, possibly outside Bookpay (a refund, a fee
# refund or a dispute in Stripe's dashboard): it names the payment, not the checkout.
PaymentAftermath = ChargeRefunded | DisputeEvent | ApplicationFeeRefunded


@dataclass(frozen=True, slots=True)
class AccountUpdated(PaymentEvent):
    """A snapshot of a connected account (`account_id`, the event's account) as of
    `created_at`; `status.account_id` is the account the snapshot describes."""

    status: ConnectStatus


@dataclass(frozen=True, slots=True)
class IgnoredEvent(PaymentEvent):
    """A verified event Bookpay does not act on (a type it does not handle, or an event of
    the other mode, live or test); acknowledged with 2xx."""

    type: str
    reason: str = ""
