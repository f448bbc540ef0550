"""Every refusal the domain can make, each named for what went wrong."""


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


class InvalidFeePolicy(DomainError):
    """A fee policy whose components contradict each other or Stripe's rules."""


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
    def __init__(self, seats: object) -> None:
        super().__init__(f"seats must be a whole number of at least 1, got {seats!r}")
        self.seats = seats


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
            "this booking can no longer be cancelled by the customer under the offering's "
            "cancellation policy"
        )
        self.hours_before_start = hours_before_start


class RefundExceedsPaid(DomainError):
    def __init__(self, requested: int, refundable: int, currency: str) -> None:
        super().__init__(
            f"a refund of {requested} {currency} exceeds the {refundable} {currency} "
            "still refundable on this booking"
        )
        self.requested = requested
        self.refundable = refundable
        self.currency = currency


class InvalidRefund(DomainError):
    """A refund that is empty, negative or in another currency than the payment."""


class NaiveDatetime(DomainError):
    """A time without a timezone: every time in Bookpay is timezone-aware UTC."""


class InvalidHold(DomainError):
    """A seat hold that Stripe's Checkout Session lifetime could not match."""


class SlotAlreadyStarted(DomainError):
    def __init__(self, slot_id: str) -> None:
        super().__init__(f"slot {slot_id} has already started and can no longer be booked")
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
