"""Every refusal the domain can make, each named for what went wrong."""

from datetime import datetime, timedelta


class DomainError(Exception):
    """Base of every rule the domain refuses to break."""


class UnknownCurrency(DomainError):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"unknown currency {code!r}: use a lowercase ISO-4217 code Stripe supports"
        )
        self.code = code


class CurrencyMismatch(DomainError):
    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine amounts in {left} and {right}")
        self.left = left
        self.right = right


class InvalidAmount(DomainError):
    """An amount that is not a whole number of minor units, or not one Stripe accepts."""


class BelowMinimumCharge(DomainError):
    def __init__(self, amount: int, minimum: int, currency: str) -> None:
        super().__init__(
            f"a charge of {amount} {currency} (minor units) is below the minimum of "
            f"{minimum} {currency} that Stripe accepts"
        )
        self.amount = amount
        self.minimum = minimum
        self.currency = currency


class AboveMaximumCharge(DomainError):
    """A charge above the largest amount Stripe accepts (eight digits in minor units)."""

    def __init__(self, amount: int, maximum: int, currency: str, *, readable: str) -> None:
        super().__init__(readable)
        self.amount = amount  # minor units, like `maximum`
        self.maximum = maximum
        self.currency = currency


class InvalidFeePolicy(DomainError):
    """A fee policy whose components contradict each other or Stripe's rules."""


class FeePolicyCannotPrice(InvalidFeePolicy):
    """A tenant's fee policy has fixed amounts, but none in the tenant's default currency:
    every offering in that currency would be refused."""

    def __init__(self, currency: str, policy_currencies: frozenset[str]) -> None:
        super().__init__(
            f"the fee policy has fixed amounts only in {', '.join(sorted(policy_currencies))}: "
            f"give them in {currency}, the tenant's default currency, too"
        )
        self.currency = currency


class TenantCannotSell(DomainError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(
            f"tenant {tenant_id} cannot take charges yet: its Stripe account is not "
            "connected or charges are not enabled"
        )
        self.tenant_id = tenant_id


class InvalidOffering(DomainError):
    """An offering whose price, duration or capacity cannot be sold."""


class InvalidSeatCount(DomainError):
    def __init__(self, seats: object, maximum: int | None = None) -> None:
        bounds = "of at least 1" if maximum is None else f"from 1 to {maximum}"
        super().__init__(f"seats must be a whole number {bounds}, got {seats!r}")
        self.seats = seats
        self.maximum = maximum


class InvalidSlotCount(DomainError):
    def __init__(self, count: int, maximum: int) -> None:
        super().__init__(f"give between 1 and {maximum} slots at once, not {count}")
        self.count = count
        self.maximum = maximum


class SeatsUnavailable(DomainError):
    def __init__(self, slot_id: str, requested: int, available: int) -> None:
        super().__init__(f"slot {slot_id} has {available} seat(s) available; {requested} requested")
        self.slot_id = slot_id
        self.requested = requested
        self.available = available


class SlotCapacityError(DomainError):
    """Seats would be released or confirmed that were never held or booked."""


class OfferingArchived(DomainError):
    def __init__(self, offering_id: str) -> None:
        super().__init__(f"offering {offering_id} is archived and cannot be booked")
        self.offering_id = offering_id


class IllegalTransition(DomainError):
    def __init__(self, booking_id: str, status: str, action: str) -> None:
        super().__init__(f"booking {booking_id} is {status}: cannot {action}")
        self.booking_id = booking_id
        self.status = status
        self.action = action


class InvalidCancellationPolicy(DomainError):
    """Cancellation windows that overlap or promise impossible refunds."""


class CancellationWindowClosed(DomainError):
    def __init__(self, hours_before_start: float) -> None:
        super().__init__(
            "this booking can no longer be cancelled by the customer under the terms it was "
            "sold with (its cancellation policy at the time of sale)"
        )
        self.hours_before_start = hours_before_start


class RefundExceedsPaid(DomainError):
    """A refund of more than is still refundable (amounts in minor units of `currency`);
    with nothing refundable, it says so rather than comparing with 0."""

    def __init__(self, requested: int, refundable: int, currency: str) -> None:
        if refundable == 0:
            message = "nothing is left to refund on this booking"
        else:
            message = (
                f"a refund of {requested} {currency} exceeds the {refundable} {currency} "
                "still refundable on this booking"
            )
        super().__init__(message)
        self.requested = requested
        self.refundable = refundable
        self.currency = currency


class InvalidRefund(DomainError):
    """A refund that is empty, negative or in another currency than the payment."""


class NaiveDatetime(DomainError):
    """A time without a timezone: every time in Bookpay is timezone-aware UTC."""


class MomentOutOfRange(DomainError):
    """A time that cannot be written in UTC (before year 1 or after year 9999 there)."""


class InvalidHold(DomainError):
    """A seat hold that Stripe's Checkout Session lifetime could not match."""


class SlotAlreadyStarted(DomainError):
    def __init__(self, slot_id: str, what: str = "booked") -> None:
        super().__init__(f"slot {slot_id} has already started and can no longer be {what}")
        self.slot_id = slot_id


class StartsTooSoonToCheckOut(DomainError):
    """The slot starts before a checkout opened now could end: the customer could pay for
    a class that already began (Stripe's Checkout Session lasts at least 30 minutes)."""

    def __init__(self, starts_at: datetime, lead: timedelta) -> None:
        minutes = int(lead.total_seconds() // 60)
        super().__init__(
            f"this time starts at {starts_at.isoformat()}, too soon to book online: "
            f"bookings close {minutes} minutes before the start"
        )
        self.starts_at = starts_at


class DisputeOpen(DomainError):
    """A dispute makes the booking's payment not refundable (Stripe would refuse, and the
    customer would be paid twice): no refund or cancellation while it is open, nor after it
    was lost (`closed`)."""

    def __init__(self, booking_id: str, dispute_id: str, *, closed: bool = False) -> None:
        if closed:  # lost: the chargeback already gave the money back
            why = f"booking {booking_id} lost a dispute ({dispute_id}) of its payment, which "
            why += "Stripe no longer refunds: it cannot be refunded or cancelled"
        else:
            why = f"booking {booking_id} has an open dispute ({dispute_id}) that makes its "
            why += "payment not refundable: it cannot be refunded or cancelled until the "
            why += "dispute is closed"
        super().__init__(why)
        self.booking_id = booking_id
        self.dispute_id = dispute_id


class OfferingsNotQuotable(DomainError):
    """A change that would leave active offerings that no fee policy can price."""

    def __init__(self, offering_ids: list[str], reasons: list[str]) -> None:
        named = "; ".join(f"{o}: {r}" for o, r in zip(offering_ids, reasons, strict=True))
        super().__init__(
            "this change would leave active offerings that cannot be quoted, so every "
            f"checkout of them would be refused: {named}"
        )
        self.offering_ids = offering_ids
        self.reasons = reasons


class NewOfferingNotQuotable(OfferingsNotQuotable):
    """An offering being created that the tenant's fee policy could not price: it is named
    by what was refused, since it was never stored and has no id to name."""

    # The same problem type as OfferingsNotQuotable for clients.
    slug = "offerings-not-quotable"

    def __init__(self, reason: str) -> None:
        DomainError.__init__(
            self,
            "the offering was not created: the tenant's fee policy cannot price it, so every "
            f"checkout of it would be refused ({reason})",
        )
        self.offering_ids = []
        self.reasons = [reason]


class InvalidTenant(DomainError):
    """A tenant whose country, timezone or currency does not exist."""


class SlotStartTaken(DomainError):
    def __init__(self, offering_id: str, starts_at: str) -> None:
        super().__init__(f"offering {offering_id} already has a slot starting at {starts_at}")
        self.offering_id = offering_id
        self.starts_at = starts_at


class OfferingCurrencyFixed(DomainError):
    def __init__(self, offering_id: str, currency: str) -> None:
        super().__init__(
            f"offering {offering_id} has slots priced in {currency}: its currency can no "
            "longer change (create a new offering to sell in another currency)"
        )
        self.offering_id = offering_id
        self.currency = currency


class TooManySeatsPerBooking(DomainError):
    def __init__(self, offering_id: str, requested: int, maximum: int) -> None:
        super().__init__(
            f"offering {offering_id} sells at most {maximum} seat(s) per booking; "
            f"{requested} requested"
        )
        self.offering_id = offering_id
        self.requested = requested
        self.maximum = maximum


class CapacityBelowSeatsTaken(DomainError):
    def __init__(self, slot_id: str, capacity: int, taken: int) -> None:
        super().__init__(
            f"slot {slot_id} has {taken} seat(s) held or booked; its capacity cannot be {capacity}"
        )
        self.slot_id = slot_id
        self.capacity = capacity
        self.taken = taken


class SlotCancelled(DomainError):
    def __init__(self, slot_id: str) -> None:
        super().__init__(f"slot {slot_id} is cancelled and can no longer be booked")
        self.slot_id = slot_id


class ReturnUrlNotAllowed(DomainError):
    """A URL a customer or tenant would be sent back to that is not on the allow-list:
    another host, not https (http only for localhost), credentials or control characters."""


class TooManyPendingHolds(DomainError):
    """A customer already holds as many unpaid checkouts at a tenant as one person may."""

    def __init__(self, pending: int, cap: int) -> None:
        super().__init__(
            f"this customer already has {pending} unpaid checkouts here (at most {cap}): "
            "pay or abandon one first"
        )
        self.pending = pending
        self.cap = cap
