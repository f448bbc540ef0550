"""Events out: what the platform and each tenant are told happened, and who hears it.

A change to a booking, a slot or a tenant's connected account implies the events below;
the functions here decide which, from the object before and after the change, so every use
case that saves such a change emits the same events for it. An endpoint (the platform's,
for every tenant or one, or a tenant's own) receives the events of the types it asked for
and of the tenants it may see, never another tenant's. A delivery that fails is retried on
a schedule and given up after its last try; an endpoint that failed every delivery for
`DISABLE_AFTER` is disabled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from domain.booking import Booking, BookingStatus
from domain.endpoint_hosts import is_proper_host, is_public_host
from domain.errors import DomainError
from domain.offering import Slot
from domain.tenant import Tenant


class EventType(StrEnum):
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_AWAITING_PAYMENT = "booking.awaiting_payment"
    BOOKING_EXPIRED = "booking.expired"
    BOOKING_PAYMENT_FAILED = "booking.payment_failed"
    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_REFUNDED = "booking.refunded"
    BOOKING_DISPUTED = "booking.disputed"
    BOOKING_DISPUTE_CLOSED = "booking.dispute_closed"
    SLOT_CANCELLED = "slot.cancelled"
    TENANT_ACCOUNT_UPDATED = "tenant.account_updated"


_ON_STATUS = {
    BookingStatus.CONFIRMED: EventType.BOOKING_CONFIRMED,
    BookingStatus.AWAITING_ASYNC_PAYMENT: EventType.BOOKING_AWAITING_PAYMENT,
    BookingStatus.EXPIRED: EventType.BOOKING_EXPIRED,
    BookingStatus.PAYMENT_FAILED: EventType.BOOKING_PAYMENT_FAILED,
    BookingStatus.CANCELLED: EventType.BOOKING_CANCELLED,
}


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a tenant's booking, slot or account; `subject` is the
    object as the change left it (its view at that moment is what the event carries)."""

    type: EventType
    tenant_id: str
    subject: Booking | Slot | Tenant


def booking_events(before: Booking, after: Booking) -> tuple[Event, ...]:
    """The events a change of a booking implies, in the order they happened."""
    types: list[EventType] = []
    if after.status is not before.status and after.status in _ON_STATUS:
        types.append(_ON_STATUS[after.status])
    if after.refunded.customer_refund.amount > before.refunded.customer_refund.amount:
        types.append(EventType.BOOKING_REFUNDED)
    known = {d.dispute_id: d for d in before.disputes}
    for dispute in after.disputes:
        earlier = known.get(dispute.dispute_id)
        if earlier is None:
            types.append(EventType.BOOKING_DISPUTED)
        if dispute.is_closed and (earlier is None or not earlier.is_closed):
            types.append(EventType.BOOKING_DISPUTE_CLOSED)
    return tuple(Event(t, after.tenant_id, after) for t in types)


def slot_events(before: Slot, after: Slot) -> tuple[Event, ...]:
    if after.is_cancelled and not before.is_cancelled:
        return (Event(EventType.SLOT_CANCELLED, after.tenant_id, after),)
    return ()


def tenant_events(before: Tenant, after: Tenant) -> tuple[Event, ...]:
    if after.connect != before.connect:
        return (Event(EventType.TENANT_ACCOUNT_UPDATED, after.id, after),)
    return ()


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class InvalidEndpoint(DomainError):
    """The endpoint cannot be registered or changed like this (e.g. a URL that is not https,
    an unknown event type)."""


# How long the old secret keeps signing alongside a rotated one, so receivers can switch.
ROTATION_OVERLAP = timedelta(hours=24)
# An endpoint that failed every delivery for this long is disabled.
DISABLE_AFTER = timedelta(days=3)
# How many endpoints one owner (a tenant, or the platform) may have: every event is written
# once per endpoint that hears it (BOOKPAY_OUTBOUND_MAX_ENDPOINTS_PER_OWNER).
MAX_ENDPOINTS_PER_OWNER = 16
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def endpoint_url(url: str, *, allow_private: bool = False) -> str:
    """The URL an endpoint may have: https, or http for localhost only; no credentials or
    fragment; a proper DNS name or canonical IP literal as its host (never `127.1` or
    `2130706433`); no private or loopback address unless `allow_private` (local
    development); no control character, whitespace or other unprintable character anywhere
    (urlsplit drops tabs and newlines before the host is judged: the string stored would
    not be the URL checked). The rules of hosts are domain/endpoint_hosts.py. Raises
    InvalidEndpoint."""
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidEndpoint(
            "the endpoint URL may not contain control characters or whitespace"
            " (percent-encode them)"
        )
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - refuses a port that is not a number from 0 to 65535
    except ValueError as error:
        raise InvalidEndpoint(f"the endpoint URL is not a valid URL: {error}") from None
    if not host or parts.scheme not in ("https", "http"):
        raise InvalidEndpoint("the endpoint URL must be an absolute https URL")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise InvalidEndpoint("the endpoint URL must be https (http only for localhost)")
    if parts.username or parts.password or parts.fragment:
        raise InvalidEndpoint("the endpoint URL may not carry credentials or a fragment")
    if len(url) > 2048:
        raise InvalidEndpoint("the endpoint URL is longer than 2048 characters")
    if not is_proper_host(host):
        raise InvalidEndpoint(
            "the endpoint URL's host must be a DNS name or a canonical IP address"
        )
    if not allow_private and not is_public_host(host):
        raise InvalidEndpoint("the endpoint URL may not name a private or loopback address")
    return url


def event_types(names: Sequence[str]) -> tuple[EventType, ...]:
    """The filter of an endpoint; empty means every type. Raises InvalidEndpoint."""
    known = {t.value: t for t in EventType}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidEndpoint(f"unknown event types: {', '.join(unknown)}")
    return tuple(dict.fromkeys(known[n] for n in names))


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where events are POSTed. `tenant_id` None with `owner_tenant_id` None: the
    platform's, for every tenant; `tenant_id` set: only that tenant's events. A tenant's own
    endpoint has `owner_tenant_id` = `tenant_id`. `secrets` sign each delivery: the current
    one first, then a rotated-out one until `previous_secret_until`."""

    id: str
    url: str
    tenant_id: str | None
    owner_tenant_id: str | None
    events: tuple[EventType, ...]
    status: EndpointStatus
    secret: str
    created_at: datetime
    description: str = ""
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    failing_since: datetime | None = None

    def receives(self, event_type: EventType, tenant_id: str) -> bool:
        """Tenant isolation lives here: an endpoint bound to a tenant hears only that
        tenant; a disabled one hears nothing."""
        if self.status is not EndpointStatus.ENABLED:
            return False
        if self.tenant_id is not None and self.tenant_id != tenant_id:
            return False
        return not self.events or event_type in self.events

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def rotated(self, new_secret: str, now: datetime) -> WebhookEndpoint:
        return replace(
            self,
            secret=new_secret,
            previous_secret=self.secret,
            previous_secret_until=now + ROTATION_OVERLAP,
        )

    def after_delivery(self, delivered: bool, now: datetime) -> WebhookEndpoint:
        """A success ends a failing streak; a failure starts one, or disables the endpoint
        once every delivery failed for DISABLE_AFTER."""
        if delivered:
            return self if self.failing_since is None else replace(self, failing_since=None)
        if self.failing_since is None:
            return replace(self, failing_since=now)
        if now - self.failing_since >= DISABLE_AFTER:
            return replace(self, status=EndpointStatus.DISABLED)
        return self


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """The waits before each retry (after the first try); past the last one, failed."""

    waits: tuple[timedelta, ...]

    @classmethod
    def of_seconds(cls, seconds: Sequence[int]) -> RetrySchedule:
        if any(s < 0 for s in seconds):
            raise InvalidEndpoint("retry waits must not be negative")
        return cls(tuple(timedelta(seconds=s) for s in seconds))

    def next_attempt(self, attempts_made: int, now: datetime) -> datetime | None:
        """When to try again after `attempts_made` failed tries; None: give up."""
        if attempts_made < 1 or attempts_made > len(self.waits):
            return None
        return now + self.waits[attempts_made - 1]


@dataclass(frozen=True, slots=True)
class InFlightCaps:
    """How many deliveries may be in flight at once (claimed, not yet answered), per owner
    of endpoints (a tenant, or the platform for its own) and per endpoint. With the round
    robin of claims (each owner's oldest due delivery in turn, then each one's second, ...),
    a slow or dead endpoint holds back its owner's deliveries only: another owner's are
    claimed and sent while it hangs, whatever the size of its backlog."""

    per_owner: int = 20
    per_endpoint: int = 20

    def __post_init__(self) -> None:
        if self.per_owner < 1 or self.per_endpoint < 1:
            raise InvalidEndpoint("in-flight caps must be at least 1")


def is_success(response_status: int | None) -> bool:
    """A 2xx answered within the timeout; anything else (None: no answer) is retried."""
    return response_status is not None and 200 <= response_status < 300
