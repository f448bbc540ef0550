"""Errors the application raises, named for what went wrong, free of HTTP and Stripe types."""

from __future__ import annotations

from datetime import datetime


class ApplicationError(Exception):
    """Base of every error a use case or a port reports."""


# The most of a client's id a message names: a 10 KB slug is not echoed back whole.
MAX_ECHOED = 64


class NotFound(ApplicationError):
    """`ident` as given; the message names at most MAX_ECHOED characters of it."""

    def __init__(self, what: str, ident: str) -> None:
        shown = ident if len(ident) <= MAX_ECHOED else ident[:MAX_ECHOED] + "…"
        super().__init__(f"{what} {shown} not found")
        self.what = what
        self.ident = ident


class Forbidden(ApplicationError):
    """The caller is known but may not do this (e.g. a tenant setting the platform's fee)."""


class FeePolicyIsThePlatforms(Forbidden):
    # The problem's title (the class name cannot carry the apostrophe).
    title = "Fee policy is the platform's"

    def __init__(self) -> None:
        super().__init__(
            "the service fee is the platform's: a tenant reads its fee policy but cannot "
            "set it (the platform sets it per tenant or per offering)"
        )


class Conflict(ApplicationError):
    """The request cannot be applied to the current state (e.g. no seats left)."""


class IdempotencyKeyReused(Conflict):
    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request")
        self.key = key


class TooManyEndpoints(Conflict):
    """The owner already has as many webhook endpoints as it may (delete one first)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"an owner may have at most {limit} webhook endpoints: delete one to add another"
        )
        self.limit = limit


class GatewayError(ApplicationError):
    """The payment gateway refused or failed a request."""


class CardDeclined(GatewayError):
    pass


class GatewayInvalidRequest(GatewayError):
    pass


class GatewayAuthenticationFailed(GatewayError):
    pass


class GatewayRateLimited(GatewayError):
    pass


class GatewayUnavailable(GatewayError):
    """The gateway could not be reached or kept failing after bounded retries."""


class GatewayOutcomeUnknown(GatewayUnavailable):
    """The gateway may or may not have acted on a write: no usable answer came back, or a
    request with the same idempotency key was still in flight. Sending the same request
    again (same key, same parameters) tells; nothing is known to be done until then."""


class InvalidWebhookSignature(ApplicationError):
    """A webhook whose signature is missing, does not match, or is too old."""


class InvalidWebhookPayload(ApplicationError):
    """A verified webhook whose body is not an event we can read."""


class Unauthorized(ApplicationError):
    """Missing or wrong credentials."""


class InvalidRequest(ApplicationError):
    """Input that is well-formed but cannot be acted on (e.g. both or neither of two fields)."""


class MalformedRequest(ApplicationError):
    """Input refused before any use case runs: e.g. an Idempotency-Key that is empty, too
    long or not printable ASCII."""


class ServiceUnavailable(ApplicationError):
    """A dependency (the database) is down, saturated or too slow; nothing was done, retry."""


class TooManySeatsHeldFromClient(ApplicationError):
    """One client (an address) put as many seats of this slot on hold as one booking may
    take, within one hold's length: more would let it hold the whole slot by repeating
    checkouts. `retry_after`: whole seconds until some of its seats leave the count;
    `retry_at`: that moment (UTC)."""

    def __init__(self, slot_id: str, most: int, retry_after: int, retry_at: datetime) -> None:
        super().__init__(
            f"this client address has put {most} seat(s) of slot {slot_id} on hold lately, "
            f"as many as one booking may take; retry in {retry_after} s or from the hold "
            "already made"
        )
        self.slot_id = slot_id
        self.most = most
        self.retry_after = retry_after
        self.retry_at = retry_at
