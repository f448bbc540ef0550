"""Ports: what the use cases need from the outside world, and nothing Stripe- or SQL-typed."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from application.errors import ApplicationError, Conflict
from domain.booking import Booking, BookingStatus
from domain.booking import PaymentStatus as BookingPaymentStatus
from domain.dispute import Dispute, DisputeSnapshot, DisputeStatus
from domain.fees import FeePolicy
from domain.ledger import LedgerEntry, StatementLine
from domain.money import Money
from domain.offering import Offering, Slot
from domain.tenant import ChargeModel, ConnectStatus, Tenant

# --- Payment gateway -----------------------------------------------------------------


class WebhookEndpoint(StrEnum):
    """Which webhook endpoint an event arrived at; each has its own signing secret."""

    PLATFORM = "platform"
    CONNECT = "connect"


class SessionStatus(StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class PaymentStatus(StrEnum):
    PAID = "paid"
    UNPAID = "unpaid"
    NO_PAYMENT_REQUIRED = "no_payment_required"


@dataclass(frozen=True, slots=True)
class OnboardingLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line on the hosted checkout page: `quantity` × `unit_amount`."""

    name: str
    unit_amount: Money
    quantity: int


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """Everything the gateway needs to open a hosted checkout for one booking attempt."""

    tenant_id: str
    booking_id: str
    account_id: str
    charge_model: ChargeModel
    line_items: tuple[LineItem, ...]
    application_fee: Money
    expires_at: datetime
    customer_email: str
    success_url: str
    cancel_url: str
    fee_policy_version: int
    idempotency_key: str
    on_behalf_of: bool = False


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    session_id: str
    url: str | None
    status: SessionStatus
    payment_status: PaymentStatus
    booking_id: str | None
    amount_total: Money | None
    expires_at: datetime | None
    payment_intent_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """A refund of `amount` of a booking's payment, and who gives back what.

    `refund_application_fee` gives back the platform's fee in proportion to the amount;
    `reverse_transfer` (destination charges) pulls the money back from the tenant's
    transfer in proportion too, so the platform's own balance never pays by accident.
    """

    booking_id: str
    payment_intent_id: str
    amount: Money
    charge_model: ChargeModel
    refund_application_fee: bool
    reverse_transfer: bool
    idempotency_key: str
    account_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: str
    amount: Money
    status: str
    # The idempotency key Bookpay sent it with (its reservation id); None for a refund
    # made elsewhere, e.g. in Stripe's dashboard.
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class TransferReversalRequest:
    """Take `amount` back from the transfer a destination charge made to the tenant.

    `idempotency_key` is Bookpay's reference of the reversal (derived from what it is
    for, e.g. a lost dispute), so a retry after an unknown outcome never reverses twice.
    """

    booking_id: str
    payment_intent_id: str
    amount: Money
    idempotency_key: str
    description: str


@dataclass(frozen=True, slots=True)
class TransferReversalResult:
    reversal_id: str
    amount: Money


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


# What happened to a payment after it was made, possibly outside Bookpay (a refund or a
# dispute in Stripe's dashboard): it names the payment, not the checkout.
PaymentAftermath = ChargeRefunded | DisputeEvent


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


class PaymentGateway(Protocol):
    """Stripe Connect as the use cases see it. Every write carries an idempotency key."""

    async def create_connected_account(
        self, *, tenant_id: str, country: str, email: str | None, idempotency_key: str
    ) -> ConnectStatus:
        """Create an Express connected account for a tenant."""
        ...

    async def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        """A single-use hosted onboarding link for the account."""
        ...

    async def retrieve_account(self, account_id: str) -> ConnectStatus: ...

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a hosted checkout for a booking; a retry with the same key returns the same."""
        ...

    async def retrieve_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession: ...

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        """Close an open session so it can no longer be paid; returns its final state."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund `request.amount` of a payment under `request.idempotency_key`.

        The same key and parameters again answer with the refund made the first time (or
        make it once). Refused, nothing made under this key: CardDeclined,
        GatewayInvalidRequest, GatewayAuthenticationFailed. Outcome unknown (the refund
        may have been made; send the same request again to learn): GatewayUnavailable
        (GatewayOutcomeUnknown among them), GatewayRateLimited, any other GatewayError.
        """
        ...

    async def list_refunds(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> list[RefundResult]:
        """The refunds of a payment, newest first, each with the reference Bookpay gave it."""
        ...

    async def application_fee_refunded(
        self, payment_intent_id: str, *, account_id: str | None = None
    ) -> Money | None:
        """What the platform's application fee on the payment's charge has given back in
        all (the fee's `amount_refunded`, minor units of the charge's currency); None when
        the charge took no application fee. `account_id` is the connected account a direct
        charge lives on.

        GatewayInvalidRequest when the payment has no charge; GatewayUnavailable or
        GatewayRateLimited when the gateway could not be asked (nothing changed: retry).
        """
        ...

    async def reverse_transfer(self, request: TransferReversalRequest) -> TransferReversalResult:
        """Reverse part of the transfer of a destination charge, once per idempotency key.

        Refused, nothing moved: GatewayInvalidRequest (e.g. no transfer, or less left than
        asked), GatewayAuthenticationFailed, GatewayRateLimited. Outcome unknown:
        GatewayUnavailable (re-send with the same key: the gateway answers with the
        reversal it made, or makes it once).
        """
        ...

    def parse_webhook(
        self, payload: bytes, signature_header: str, endpoint: WebhookEndpoint
    ) -> PaymentEvent:
        """Verify the signature over the raw body and translate the event.

        Raises InvalidWebhookSignature when the signature is missing, wrong or stale.
        """
        ...


# --- Persistence ---------------------------------------------------------------------
# Every tenant-owned read and write takes the tenant. The only lookups without one are
# by identifiers the outside world hands us and that are globally unique (an API key's
# hash, a gateway account, session or payment id, the booking id a customer's link
# carries): that is how a request or a webhook finds its tenant in the first place.


class AlreadyExists(Conflict):
    """A record with the same identity is already stored."""


class ConcurrentUpdate(Conflict):
    """The record changed since this unit of work read it; roll back, retry with a fresh one."""


class InvalidCursor(ApplicationError):
    """A page cursor that this server did not hand out."""


class TenantRepository(Protocol):
    """Tenants, their API-key hashes and their fee-policy versions."""

    async def add(self, tenant: Tenant) -> None:
        """Store a new tenant; AlreadyExists when the id or the slug is taken."""
        ...

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant with this id, or None."""
        ...

    async def get_by_slug(self, slug: str) -> Tenant | None:
        """The tenant with this slug, or None."""
        ...

    async def lock_pricing(self, tenant_id: str) -> bool:
        """Take the tenant's pricing lock until this unit of work ends; False when there is
        no such tenant. Writes that decide how its offerings are priced (fee policies,
        overrides, offering prices) take it first, so each checks what the others committed
        and two of them can never together leave an offering unquotable."""
        ...

    async def update(self, tenant: Tenant) -> None:
        """Save a changed tenant; NotFound when it was never added; ConcurrentUpdate when a
        newer Connect snapshot (`connect_as_of`) was stored since the tenant was read."""
        ...

    async def list(self, *, after: str | None = None, limit: int = 100) -> list[Tenant]:
        """Tenants ordered by id, the page after the id `after`."""
        ...

    async def find_by_account_id(self, account_id: str) -> Tenant | None:
        """The tenant whose connected gateway account this is (for Connect webhooks)."""
        ...

    async def add_api_key(
        self, tenant_id: str, key_hash: str, *, label: str, created_at: datetime
    ) -> None:
        """Store the hash of a new API key of the tenant; AlreadyExists on a duplicate hash."""
        ...

    async def find_by_api_key_hash(
        self, key_hash: str, *, now: datetime | None = None
    ) -> Tenant | None:
        """The tenant owning an API key with this hash that is not revoked at `now` (a key
        may be revoked from a moment in the future on: a grace period), or None."""
        ...

    async def revoke_other_api_keys(
        self, tenant_id: str, keep_hash: str, *, revoked_at: datetime
    ) -> int:
        """End every key of the tenant but `keep_hash` at `revoked_at` (or earlier, when it
        already ends earlier); how many keys this shortened."""
        ...

    async def revoke_api_key(self, tenant_id: str, key_hash: str, *, revoked_at: datetime) -> bool:
        """Revoke one of the tenant's keys; False when the tenant has no such live key."""
        ...

    async def add_fee_policy(self, tenant_id: str, policy: FeePolicy) -> None:
        """Store a new version of the tenant's fee policy; AlreadyExists if the version is."""
        ...

    async def active_fee_policy(self, tenant_id: str) -> FeePolicy | None:
        """The tenant's newest fee-policy version, which applies to new bookings."""
        ...

    async def fee_policy(self, tenant_id: str, version: int) -> FeePolicy | None:
        """One stored version of the tenant's fee policy, or None."""
        ...


class CountryCodes(Protocol):
    """The ISO 3166-1 list of countries."""

    def is_country(self, alpha_2: str) -> bool:
        """Whether `alpha_2` (upper case) is an assigned ISO 3166-1 alpha-2 code."""
        ...


class OfferingRepository(Protocol):
    """A tenant's offerings."""

    async def add(self, offering: Offering) -> None:
        """Store a new offering; AlreadyExists when its id is taken."""
        ...

    async def get(self, tenant_id: str, offering_id: str) -> Offering | None:
        """The tenant's offering with this id, or None."""
        ...

    async def update(self, offering: Offering) -> None:
        """Save a changed offering; NotFound when it was never added."""
        ...

    async def list(
        self,
        tenant_id: str,
        *,
        include_archived: bool = False,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        """The tenant's offerings ordered by name, then id: at most `limit` of them (all
        when None), those after the (name, id) `after` (a page's last offering)."""
        ...

    async def last_fee_policy_override_version(self, tenant_id: str, offering_id: str) -> int:
        """The newest version of the platform's override for this offering (one ended by
        a removal included); 0 when it never had one."""
        ...

    async def add_fee_policy_override(
        self, tenant_id: str, offering_id: str, version: int, policy: FeePolicy | None
    ) -> None:
        """Store version `version` of the offering's override: `policy`, or None to go
        back to the tenant's policy. The offering reads it as `fee_policy` from then on;
        `update` never changes it. AlreadyExists when the version is taken."""
        ...


@dataclass(frozen=True, slots=True)
class SlotForSale:
    """A tenant and one of its slots, read together with what selling a seat needs."""

    tenant: Tenant
    slot: Slot | None  # None when the tenant has no slot with this id
    offering: Offering | None  # the slot's offering; None without a slot (or offering)
    active_fee_policy: FeePolicy | None  # the tenant's newest version, None if it has none


class SlotRepository(Protocol):
    """Slots and their seats; every seat change is one atomic conditional statement."""

    async def add(self, slot: Slot) -> None:
        """Store a new slot; AlreadyExists when its id, or its offering's start time, is
        taken (one slot per start time per offering)."""
        ...

    async def taken_starts(
        self, tenant_id: str, offering_id: str, starts: Collection[datetime]
    ) -> set[datetime]:
        """Those of `starts` at which the offering already has a slot (UTC)."""
        ...

    async def offering_has_slots(self, tenant_id: str, offering_id: str) -> bool:
        """Whether the offering has any slot, past or future."""
        ...

    async def get(self, tenant_id: str, slot_id: str) -> Slot | None:
        """The tenant's slot with this id, with its current seat counts, or None."""
        ...

    async def list_for_offering(
        self,
        tenant_id: str,
        offering_id: str,
        *,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[Slot]:
        """The offering's slots starting in [starts_from, starts_before), by start time,
        then id: at most `limit` (all when None), those after the (starts_at, id) `after`."""
        ...

    async def get_for_sale(self, tenant_slug: str, slot_id: str) -> SlotForSale | None:
        """The tenant with this slug, its slot, the slot's offering and the tenant's active
        fee policy, in one read; None when no tenant has this slug.

        The same as `TenantRepository.get_by_slug`, `get`, `OfferingRepository.get` and
        `TenantRepository.active_fee_policy` together, for the checkout, which needs all
        four on every request.
        """
        ...

    async def try_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Hold seats if held + booked + seats stays within capacity; False otherwise."""
        ...

    async def release_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Give held seats back; False when fewer than `seats` are held."""
        ...

    async def confirm_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Turn held seats into booked ones; False when fewer than `seats` are held."""
        ...

    async def try_book(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Book seats directly (a late payment) if they fit in capacity; False otherwise."""
        ...

    async def release_booked(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        """Give booked seats back; False when fewer than `seats` are booked."""
        ...

    async def resize(self, tenant_id: str, slot_id: str, capacity: int) -> bool:
        """Set the slot's capacity in one conditional statement, only while the seats held
        and booked fit in it; False otherwise, or when there is no such slot."""
        ...

    async def cancel(self, slot: Slot) -> bool:
        """Store that `slot` (with its cancelled_at and reason) is cancelled, once: False
        when it already was, or there is no such slot. Holds are refused from then on."""
        ...

    async def cancelled_with_bookings(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant_id, slot_id) of cancelled slots that still have bookings holding or
        booking seats: a cancellation that did not finish."""
        ...


@dataclass(frozen=True, slots=True)
class BookingPage:
    """One page of bookings, newest first; `next_cursor` is None on the last page."""

    items: tuple[Booking, ...]
    next_cursor: str | None


class BookingRepository(Protocol):
    """A tenant's bookings; an update of a booking changed meanwhile is a ConcurrentUpdate."""

    async def add(self, booking: Booking) -> None:
        """Store a new booking; AlreadyExists when its id is taken."""
        ...

    async def count_pending_for_customer(self, tenant_id: str, email: str) -> int:
        """How many of the tenant's bookings still hold seats unpaid (pending_payment) for
        this customer email, compared without regard to case."""
        ...

    async def add_holding_seats(self, booking: Booking) -> bool:
        """Hold the booking's seats on its slot and store the booking, in one step.

        The hold is `SlotRepository.try_hold`'s: False, holding and storing nothing, when
        the seats do not fit. AlreadyExists, holding nothing, when the booking's id is
        taken. One write in the sense of `UnitOfWork.single_write`: either both happen or
        neither, even without a transaction around it.
        """
        ...

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        """The tenant's booking with this id, or None."""
        ...

    async def update(self, booking: Booking) -> None:
        """Save a changed booking; ConcurrentUpdate when it changed since it was read."""
        ...

    async def attach_session(self, tenant_id: str, booking_id: str, session_id: str) -> bool:
        """Give a pending booking that has no checkout session this one, in one step.

        One conditional write that also counts as a change of the booking: a copy read
        before it is then a ConcurrentUpdate. False, changing nothing, when the booking is
        missing, no longer pending payment, or already has a session (this one or another).
        """
        ...

    async def on_slot(self, tenant_id: str, slot_id: str) -> list[Booking]:
        """The slot's bookings that still hold or book seats, oldest first."""
        ...

    async def find_by_id(self, booking_id: str) -> Booking | None:
        """A booking by its id alone (ids are global), for its customer's token link."""
        ...

    async def find_by_gateway_session(self, session_id: str) -> Booking | None:
        """The booking a checkout session was opened for (session ids are global)."""
        ...

    async def find_by_payment_intent(self, payment_intent_id: str) -> Booking | None:
        """The booking a payment belongs to (payment ids are global)."""
        ...

    async def claim_lapsed_holds(
        self,
        tenant_id: str,
        before: datetime,
        *,
        now: datetime,
        claim_until: datetime,
        limit: int = 100,
    ) -> list[Booking]:
        """Claim the tenant's pending bookings whose hold ended before `before`, oldest first.

        Each booking returned is claimed for the caller until `claim_until`; bookings that
        another caller's claim covers at `now` are skipped, not waited for. So sweepers in
        several processes share the work instead of each asking the gateway about every
        hold. A claim is not a lock: it never blocks a webhook, and it ends by itself.
        """
        ...

    async def tenants_with_lapsed_holds(self, before: datetime) -> list[str]:
        """Ids of the tenants that have pending bookings whose hold ended before `before`."""
        ...

    async def with_refunds_due(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant id, booking id) of bookings whose refunds have not converged yet.

        Those with a refund reserved but not confirmed by the gateway (Booking.unknown_refunds),
        and those the system cancelled that are not refunded in full yet, not even by a
        reservation (Booking.owes_system_refund). Ordered by the pair; across tenants.
        """
        ...

    # `list` comes last: in the class body below it, `list[...]` would name this method.
    async def list(
        self,
        tenant_id: str,
        *,
        statuses: Collection[BookingStatus] = (),
        payment_statuses: Collection[BookingPaymentStatus] = (),
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> BookingPage:
        """The tenant's bookings matching every filter given, newest first, one page."""
        ...


class LedgerRepository(Protocol):
    """Ledger entries, each recorded once per (gateway_ref, kind)."""

    async def add(self, entry: LedgerEntry) -> bool:
        """Record an entry; False (and nothing stored) when its gateway_ref+kind already is."""
        ...

    async def add_all(self, entries: Iterable[LedgerEntry]) -> list[bool]:
        """Record several entries with one write, each as `add` would; one flag per entry.

        False (and nothing stored for it) where the entry's gateway_ref+kind already is
        recorded, or appears earlier in the same call.
        """
        ...

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[LedgerEntry]:
        """The booking's entries, oldest first (charge before fee before refunds at a tie)."""
        ...

    async def statement(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        currency: str | None = None,
    ) -> list[StatementLine]:
        """The tenant's entries created in [since, until) summed per currency."""
        ...


class DisputeRepository(Protocol):
    """Disputes of bookings' payments, each recorded once by its gateway id.

    They are written with their booking (`BookingRepository.update` stores the booking's
    disputes); this port reads them across bookings.
    """

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[Dispute]:
        """The booking's disputes, oldest first."""
        ...

    async def with_pending_recoveries(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """(tenant id, booking id) of bookings with a lost dispute's recovery reserved but
        not yet confirmed by the gateway."""
        ...


class WebhookInbox(Protocol):
    """Ids of the gateway events already processed, recorded with their effect."""

    async def record(self, event_id: str) -> bool:
        """True the first time an event id is recorded, False ever after."""
        ...


class ParkedEvents(Protocol):
    """Refund and dispute events that named a payment no booking had yet.

    Stripe does not keep order: a charge's refund can be reported before the completion of
    the checkout that made the charge. Such an event waits here, keyed by its payment, and
    is applied when a booking is paid with that payment.
    """

    async def park(self, payment_intent_id: str, event: PaymentAftermath) -> bool:
        """Keep the event for the payment; False when this event id is already parked."""
        ...

    async def take(self, payment_intent_id: str) -> list[PaymentAftermath]:
        """Remove and return the payment's parked events, oldest first (by `created_at`)."""
        ...

    async def discard(self, created_before: datetime) -> list[str]:
        """Drop the events created before then, whose payment never came; their ids."""
        ...


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # first use of the key: go ahead, then store the response
    REPLAY = "replay"  # the same request already finished: answer its stored response
    IN_PROGRESS = "in_progress"  # the same request is still being processed
    MISMATCH = "mismatch"  # the key was used for a different request


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The outcome of an idempotent request, replayed verbatim on a retry."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    outcome: ClaimOutcome
    response: StoredResponse | None = None


class IdempotencyStore(Protocol):
    """Idempotency keys per scope (a tenant id, or a platform scope such as "admin")."""

    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime | None = None,
        stale_before: datetime | None = None,
    ) -> IdempotencyClaim:
        """Claim a key for a request with this fingerprint; exactly one claimant wins.

        A claim still in progress that was made before `stale_before` belongs to a request
        that died: it is taken over (CLAIMED, its time set to `now`) by exactly one caller.
        """
        ...

    async def store_response(self, scope: str, key: str, response: StoredResponse) -> None:
        """Store the response of a claimed key, to be replayed on retries; the first
        response stored stays."""
        ...

    async def purge(self, created_before: datetime) -> int:
        """Delete the keys claimed before then; how many were deleted."""
        ...

    async def release(self, scope: str, key: str) -> None:
        """Forget a claim whose request failed without effect, so a retry may run it."""
        ...


# Never open a second unit of work inside the first in the same task: SQLite serialises
# writers, so the second would wait for the first (the adapters refuse it at once instead).
class UnitOfWork(Protocol):
    """One transaction: `async with uow:` rolls back on exit unless `await uow.commit()`."""

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def offerings(self) -> OfferingRepository: ...

    @property
    def slots(self) -> SlotRepository: ...

    @property
    def bookings(self) -> BookingRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def disputes(self) -> DisputeRepository: ...

    @property
    def webhook_inbox(self) -> WebhookInbox: ...

    @property
    def parked_events(self) -> ParkedEvents: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    def single_write(self) -> Self:
        """Before `async with`: this unit of work makes at most one write, one repository
        call that is atomic by itself (e.g. `add_holding_seats`, `attach_session`), after
        any number of reads, so it needs no transaction around it; an adapter may then save
        the round trips of BEGIN and COMMIT. Call `commit()` as usual; after the write,
        `rollback()` may not undo it. Applies to the next `async with` only."""
        ...

    async def __aenter__(self) -> Self:
        """Begin a transaction."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed and end the transaction."""
        ...

    async def commit(self) -> None:
        """Make the changes so far durable and visible; the unit of work stays usable."""
        ...

    async def rollback(self) -> None:
        """Discard the changes since the last commit."""
        ...


# --- Time and identity ---------------------------------------------------------------


class Clock(Protocol):
    """The current time, timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """New opaque identifiers, e.g. "bk_…" for a booking."""

    def new_id(self, prefix: str) -> str: ...
