"""Bookings and their state machine.

    pending_payment ──paid──▶ confirmed ──cancel──▶ cancelled
      │   │  └─unpaid─▶ awaiting_async_payment ──paid──▶ confirmed
      │   │                 ├──failed──▶ payment_failed
      │   │                 └──deadline passed──▶ expired
      │   └─failed──▶ payment_failed
      └─hold lapsed, or abandoned─▶ expired ──paid late (seats free again)──▶ confirmed

That is the seat lifecycle (`status`). The money is `payment_status`, derived from the
payment, the refunds the gateway confirmed and the disputes: unpaid → paid →
partially_refunded → refunded, or disputed while a dispute is open or was lost. A refund
never changes `status` and never moves seats.

Every transition is idempotent: applying a fact the booking already reflects returns the
booking unchanged (the same object). A fact that contradicts the booking's state raises
IllegalTransition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from domain.cancellation import CancellationPolicy, RefundSplit, tenant_cancellation_refund
from domain.clock import as_utc
from domain.dispute import Dispute, DisputeBearer, DisputeOpen, DisputeSnapshot, with_dispute
from domain.errors import CurrencyMismatch, DomainError, IllegalTransition, InvalidRefund
from domain.fee_quote import FeeQuote
from domain.fees import RefundOnCancel
from domain.hold import async_payment_deadline
from domain.money import Money
from domain.offering import require_seats
from domain.refund import (
    CancelledBy,
    Refund,
    find_refund,
    refund_total,
    require_refund_fits,
    settled,
    with_fee_reported,
)
from domain.statuses import (
    SEATS_BY_STATUS,
    BookingStatus,
    PaymentStatus,
    SeatState,
    payment_status,
)
from domain.tenant import ChargeModel
from domain.terms import Terms

# The statuses live in domain/statuses.py; callers keep importing them from here.
__all__ = [
    "Booking",
    "BookingStatus",
    "CancelledBy",
    "Customer",
    "PaymentStatus",
    "Refund",
    "SeatState",
]


_PAID = frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class Customer:
    email: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Booking:
    id: str
    tenant_id: str
    offering_id: str
    slot_id: str
    seats: int
    starts_at: datetime
    customer: Customer
    quote: FeeQuote
    refund_on_cancel: RefundOnCancel
    hold_expires_at: datetime
    created_at: datetime
    status: BookingStatus = BookingStatus.PENDING_PAYMENT
    gateway_session_id: str | None = None
    payment_intent_id: str | None = None
    refunds: tuple[Refund, ...] = ()
    cancelled_by: CancelledBy | None = None
    cancellation_reason: str | None = None
    # The customer's link to the booking carries a secret token; only its hash is kept.
    access_token_hash: str | None = None
    disputes: tuple[Dispute, ...] = ()
    # Terms of sale frozen at the sale (with refund_on_cancel and the quote's fee policy
    # version and identity): None is the default policy, a full refund up to the start.
    cancellation_policy: CancellationPolicy | None = None
    # Where the customer goes after leaving the checkout unpaid (the platform's page).
    cancel_url: str | None = None

    def __post_init__(self) -> None:
        require_seats(self.seats)
        object.__setattr__(self, "starts_at", as_utc(self.starts_at))
        object.__setattr__(self, "hold_expires_at", as_utc(self.hold_expires_at))
        object.__setattr__(self, "created_at", as_utc(self.created_at))

    # --- derived facts -----------------------------------------------------------------

    @property
    def currency(self) -> str:
        return self.quote.currency

    @property
    def seat_state(self) -> SeatState:
        return SEATS_BY_STATUS[self.status]

    @property
    def is_paid(self) -> bool:
        return self.status in _PAID

    @property
    def refunded(self) -> RefundSplit:
        """What the gateway confirmed it refunded; unknown reservations are not counted."""
        return refund_total(self.currency, (r for r in self.refunds if not r.pending))

    @property
    def unknown_refunds(self) -> tuple[Refund, ...]:
        """Refunds reserved but not confirmed by the gateway: maybe made, maybe not."""
        return tuple(r for r in self.refunds if r.pending)

    @property
    def refunded_or_reserved(self) -> RefundSplit:
        """Confirmed refunds plus unknown reservations: money no other refund may take."""
        return refund_total(self.currency, self.refunds)

    @property
    def refundable(self) -> Money:
        """What a new refund may still reserve: never more than the customer paid.

        An unknown reservation is subtracted too: it may have been made.
        """
        if not self.is_paid:
            return Money.zero(self.currency)
        return self.quote.customer_total - self.refunded_or_reserved.customer_refund

    @property
    def owes_system_refund(self) -> bool:
        """Cancelled by the system (paid after its seats were sold again), and some of the
        payment has not even been reserved for refunding yet."""
        return self.cancelled_by is CancelledBy.SYSTEM and not self.refundable.is_zero

    def system_refund(self) -> RefundSplit:
        """What a booking the system cancelled still gives back: everything the customer
        paid that is not confirmed refunded, the platform's fee included (they never had
        the seats). Decide it only once no refund of the booking is unknown."""
        return tenant_cancellation_refund(self.quote, RefundOnCancel.PROPORTIONAL, self.refunded)

    @property
    def terms(self) -> Terms:
        """The terms the booking was sold under; cancels and refunds follow them."""
        return Terms(
            cancellation_policy=self.cancellation_policy,
            refund_on_cancel=self.refund_on_cancel,
            fee_policy=self.quote.fee_policy,
        )

    # --- transitions -------------------------------------------------------------------

    @property
    def can_attach_session(self) -> bool:
        """Whether a checkout session may be attached: only to a booking still pending
        payment that has none yet (the repositories attach under the same condition)."""
        return self.status is BookingStatus.PENDING_PAYMENT and self.gateway_session_id is None

    def attach_session(self, session_id: str) -> Booking:
        """The booking paid through `session_id`; attaching the same session again changes
        nothing, any other session is an IllegalTransition."""
        if self.gateway_session_id == session_id:
            return self
        if not self.can_attach_session:
            raise IllegalTransition(self.id, self.status, "attach another checkout session")
        return replace(self, gateway_session_id=session_id)

    def await_async_payment(self) -> Booking:
        """The customer completed checkout with a delayed method; seats stay held until
        the payment method's deadline (async_payment_deadline)."""
        if self.status is BookingStatus.PENDING_PAYMENT:
            return replace(
                self,
                status=BookingStatus.AWAITING_ASYNC_PAYMENT,
                hold_expires_at=async_payment_deadline(self.hold_expires_at, self.starts_at),
            )
        if self.status is BookingStatus.AWAITING_ASYNC_PAYMENT or self.is_paid:
            return self
        raise IllegalTransition(self.id, self.status, "wait for a delayed payment")

    def confirm(self, payment_intent_id: str | None = None) -> Booking:
        """The payment succeeded. From `expired` this is a late payment: the caller must
        have booked the seats again first, or refund instead."""
        if self.is_paid:
            return self
        if self.status in (
            BookingStatus.PENDING_PAYMENT,
            BookingStatus.AWAITING_ASYNC_PAYMENT,
            BookingStatus.EXPIRED,
        ):
            return replace(
                self,
                status=BookingStatus.CONFIRMED,
                payment_intent_id=payment_intent_id or self.payment_intent_id,
            )
        raise IllegalTransition(self.id, self.status, "confirm a payment")

    def fail_payment(self) -> Booking:
        if self.status is BookingStatus.PAYMENT_FAILED:
            return self
        if self.status in (BookingStatus.PENDING_PAYMENT, BookingStatus.AWAITING_ASYNC_PAYMENT):
            return replace(self, status=BookingStatus.PAYMENT_FAILED)
        raise IllegalTransition(self.id, self.status, "fail a payment")

    def expire(self) -> Booking:
        """The hold lapsed unpaid (for a delayed method: its deadline passed): the seats
        go back on sale. A payment that still arrives is a late one (see confirm)."""
        if self.status is BookingStatus.EXPIRED:
            return self
        if self.status in (BookingStatus.PENDING_PAYMENT, BookingStatus.AWAITING_ASYNC_PAYMENT):
            return replace(self, status=BookingStatus.EXPIRED)
        raise IllegalTransition(self.id, self.status, "expire")

    def abandon(self) -> Booking:
        """The customer (or the tenant) gives up an unpaid checkout before its hold ends:
        the seats go back on sale at once. Only a checkout still open can be abandoned;
        the caller expires its gateway session first, so it can no longer be paid."""
        if self.status is BookingStatus.EXPIRED:
            return self
        if self.status is BookingStatus.PENDING_PAYMENT:
            return replace(self, status=BookingStatus.EXPIRED)
        raise IllegalTransition(self.id, self.status, "abandon")

    def cancel(self, by: CancelledBy, reason: str | None = None) -> Booking:
        if self.status is BookingStatus.CANCELLED:
            return self
        if self.status is BookingStatus.CONFIRMED:
            self.require_no_blocking_dispute()
            return replace(
                self, status=BookingStatus.CANCELLED, cancelled_by=by, cancellation_reason=reason
            )
        raise IllegalTransition(self.id, self.status, "cancel")

    def record_refund(self, refund_id: str, split: RefundSplit) -> Booking:
        """Record a refund once (by its gateway id); the sum never exceeds what was paid."""
        if self.refund_by_id(refund_id) is not None:
            return self
        self._check_refund(split)
        return replace(
            self,
            refunds=(*self.refunds, Refund(refund_id, split)),
        )

    def reserve_refund(
        self,
        reservation_id: str,
        split: RefundSplit,
        *,
        reason: str | None = None,
        cancels: CancelledBy | None = None,
    ) -> Booking:
        """Hold a refund against what is still refundable, before the gateway is asked.

        A reservation id already known (reserved, or settled under the gateway's id)
        changes nothing: it is the same request again.
        """
        if self.refund_by_id(reservation_id) is not None:
            return self
        self.require_no_blocking_dispute()  # a refund the gateway made is still recorded
        self._check_refund(split)
        reserved = Refund(reservation_id, split, pending=True, reason=reason, cancels=cancels)
        return replace(self, refunds=(*self.refunds, reserved))

    def settle_refund(self, reservation_id: str, refund_id: str) -> Booking:
        """The gateway made the reserved refund: it is now known by the gateway's id."""
        reserved = self.refund_by_id(reservation_id)
        if reserved is None or not reserved.pending:
            if self.refund_by_id(refund_id) is not None:
                return self
            raise InvalidRefund(f"no refund of booking {self.id} is reserved as {reservation_id}")
        return replace(self, refunds=settled(self.refunds, reserved, reservation_id, refund_id))

    def fee_refund_reported(self, refund_id: str, fee_refund: Money) -> Booking:
        """The gateway reports what a settled refund gave back of the platform's fee: the
        refund keeps that (Stripe's rounding), not the policy's share, so what the tenant
        still holds (`transfer_left`) follows the money that moved. Kept within the refund
        and the fee still held; unchanged when it already says so."""
        refund = self.refund_by_id(refund_id)
        if refund is None or refund.pending:
            return self
        refunds = with_fee_reported(self.refunds, refund, fee_refund, self.quote.application_fee)
        return self if refunds is self.refunds else replace(self, refunds=refunds)

    def release_refund(self, reservation_id: str) -> Booking:
        """The gateway refused the reserved refund: nothing went back, nothing is held."""
        reserved = self.refund_by_id(reservation_id)
        if reserved is None or not reserved.pending:
            return self
        return replace(self, refunds=tuple(r for r in self.refunds if r is not reserved))

    def refund_by_id(self, refund_id: str) -> Refund | None:
        """The refund known by this id: the gateway's, or the reservation's it settled."""
        return find_refund(self.refunds, refund_id)

    def _check_refund(self, split: RefundSplit) -> None:
        if not self.is_paid:
            raise IllegalTransition(self.id, self.status, "refund an unpaid booking")
        fee_left = self.quote.application_fee - self.refunded_or_reserved.application_fee_refund
        require_refund_fits(split, self.refundable, fee_left)

    # --- money and disputes ------------------------------------------------------------

    @property
    def payment_status(self) -> PaymentStatus:
        """The money: disputed while a dispute is open or was lost; otherwise what the
        refunds the gateway confirmed gave back (a reserved refund is not yet refunded)."""
        return payment_status(
            paid=self.quote.customer_total if self.is_paid else None,
            refunded=self.refunded.customer_refund,
            disputed=any(d.is_open or d.is_lost for d in self.disputes),
        )

    @property
    def transfer_left(self) -> Money:
        """What the tenant still holds of the payment: what it received, less what refunds
        took back from it (each refund's part not covered by the platform's fee)."""
        left = self.quote.tenant_receives - self.refunded.tenant_share
        return Money.zero(self.currency) if left.is_negative else left

    @property
    def has_recovery_due(self) -> bool:
        """A lost dispute's recovery from the tenant is reserved, not yet confirmed."""
        return any(d.recovery is not None and d.recovery.pending for d in self.disputes)

    def dispute(self, dispute_id: str) -> Dispute | None:
        return next((d for d in self.disputes if d.dispute_id == dispute_id), None)

    def require_no_blocking_dispute(self) -> None:
        """Refuse to give money back while a dispute makes the charge not refundable."""
        blocking = next((d for d in self.disputes if d.blocks_refunds), None)
        if blocking is not None:
            raise DisputeOpen(self.id, blocking.dispute_id, closed=blocking.is_closed)

    def record_dispute(self, snapshot: DisputeSnapshot) -> Booking:
        """Record what the gateway says of one of the payment's disputes; a snapshot older
        than the one recorded changes nothing (the same object comes back)."""
        if not self.is_paid:
            raise IllegalTransition(self.id, self.status, "record a dispute of an unpaid booking")
        if snapshot.amount.currency != self.currency:
            raise CurrencyMismatch(snapshot.amount.currency, self.currency)
        known = self.dispute(snapshot.dispute_id)
        if known is None:
            return self._with_dispute(Dispute.opened(self.tenant_id, self.id, snapshot))
        return self._with_dispute(known.updated(snapshot))

    def reserve_dispute_recovery(
        self, dispute_id: str, charge_model: ChargeModel, bearer: DisputeBearer
    ) -> Booking:
        """Reserve taking a lost dispute back from the tenant's transfer, when due."""
        known = self.dispute(dispute_id)
        if known is None:
            return self
        return self._with_dispute(known.recovery_due(charge_model, bearer, self.transfer_left))

    def settle_dispute_recovery(self, dispute_id: str, reversal_id: str) -> Booking:
        """The gateway made the reserved recovery as `reversal_id`."""
        known = self.dispute(dispute_id)
        if known is None:
            raise DomainError(f"booking {self.id} has no dispute {dispute_id}")
        return self._with_dispute(known.recovered(reversal_id))

    def _with_dispute(self, dispute: Dispute) -> Booking:
        disputes = with_dispute(self.disputes, dispute)
        return self if disputes is self.disputes else replace(self, disputes=disputes)
