"""A customer picks a slot: hold the seats, then open a hosted checkout that ends the hold.

Two short transactions around one gateway call, so no transaction waits on the network:
1. hold the seats atomically and store the pending booking;
2. open the Checkout Session (its idempotency key derives from the booking id);
3. attach the session to the booking.

With an Idempotency-Key (claimed and replayed at the HTTP edge), the booking id derives
from the key, so a retry after a failure at 2 or 3 resumes the same booking with a new
token: the gateway sees the same idempotency key and returns the same session instead of
opening a second one, and no second hold is taken. Without a key, a failure at 2 or 3 (the
gateway's, or the database's when the session is attached) gives the seats back at once;
so does a call the gateway refused as invalid, key or not, since retrying the same request
cannot succeed.

One booking takes at most the offering's seats per booking (by default half the slot, see
domain/offering.py), and one client, by its address, holds at most as many seats of a slot
within one hold's length (`SeatsHeldPerClient`), so that neither one checkout nor a few
repeated ones hold a whole class for free. A checkout that would be refused for want of
seats is refused before it is counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from application.credentials import hash_secret, matches, new_booking_token
from application.errors import (
    Conflict,
    GatewayInvalidRequest,
    NotFound,
    TooManySeatsHeldFromClient,
)
from application.holds import release_seats_if_hold_ended
from application.ports.catalogue import SlotForSale
from application.ports.client_holds import SeatsHeldPerClient
from application.ports.gateway import CheckoutRequest, LineItem, PaymentGateway
from application.ports.time_and_identity import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from domain.booking import Booking, BookingStatus, Customer
from domain.errors import SeatsUnavailable
from domain.events import booking_events
from domain.fee_quote import BearerKind, FeeQuote
from domain.hold import ensure_customer_may_hold_more, hold_expiry, session_expiry
from domain.offering import DEFAULT_MAX_SEATS_PER_BOOKING, Offering, require_seats
from domain.return_urls import host_of, require_allowed_return_url
from domain.tenant import Tenant


@dataclass(frozen=True, slots=True)
class StartCheckoutCommand:
    tenant_slug: str
    slot_id: str
    seats: int
    customer_email: str
    customer_name: str | None = None
    success_url: str | None = None
    cancel_url: str | None = None
    idempotency_key: str | None = None
    # With an idempotency key: the booking token to issue (the same on every retry, e.g.
    # derived from a form's one-time id); None issues a new random one on each attempt.
    booking_token: str | None = None
    # Who asks, e.g. the client's address: the seats one client holds on a slot are counted
    # together (`SeatsHeldPerClient`). None: a caller trusted not to need counting.
    client: str | None = None


@dataclass(frozen=True, slots=True)
class CheckoutStarted:
    booking_id: str
    booking_token: str
    checkout_url: str
    expires_at: datetime
    quote: FeeQuote


class StartCheckout:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        ids: IdGenerator,
        clock: Clock,
        *,
        hold: timedelta,
        public_base_url: str,
        return_hosts: Collection[str] = (),
        default_max_seats_per_booking: int = DEFAULT_MAX_SEATS_PER_BOOKING,
        seats_per_client: SeatsHeldPerClient | None = None,
    ) -> None:
        """`return_hosts`: where success and cancel URLs may lead, besides Bookpay itself;
        `default_max_seats_per_booking`: the most seats one booking may take of an offering
        that sets no max_seats_per_booking of its own (and half the slot at most);
        `seats_per_client`: counts the seats each client holds per slot (None: no count)."""
        self._uow = uow
        self._gateway = gateway
        self._ids = ids
        self._clock = clock
        self._hold = hold
        self._default_max_seats = require_seats(default_max_seats_per_booking)
        self._seats_per_client = seats_per_client
        self._base_url = public_base_url.rstrip("/")
        self._return_hosts = frozenset({*return_hosts, host_of(public_base_url)})

    async def __call__(self, command: StartCheckoutCommand) -> CheckoutStarted:
        """The booking holding its seats, and the page where the customer pays.

        Raises NotFound (tenant, slot, offering), TenantCannotSell, ReturnUrlNotAllowed,
        InvalidSeatCount, TooManySeatsPerBooking, TooManyPendingHolds, OfferingArchived,
        SlotAlreadyStarted, StartsTooSoonToCheckOut, SlotCancelled, SeatsUnavailable,
        TooManySeatsHeldFromClient,
        BelowMinimumCharge, AboveMaximumCharge, Conflict (the checkout of this key has
        ended), and GatewayError when no session could be opened. Whatever fails after the
        seats were held (gateway or database) gives them back first, unless an
        Idempotency-Key lets a retry resume the booking (a gateway's refusal as invalid
        gives them back even then).
        """
        require_seats(command.seats)
        for url in (command.success_url, command.cancel_url):
            if url is not None:
                require_allowed_return_url(url, self._return_hosts)
        token = (
            command.booking_token
            if command.booking_token and command.idempotency_key
            else new_booking_token()
        )
        async with self._uow() as uow:
            for_sale = await uow.slots.get_for_sale(command.tenant_slug, command.slot_id)
            if for_sale is None:
                raise NotFound("tenant", command.tenant_slug)
            tenant = for_sale.tenant
            tenant.ensure_can_sell()
            held = await self._resume(uow, tenant, command, token)
            if held is None:
                held = await self._hold_seats(uow, for_sale, token, command)
            await uow.commit()
        # No transaction stays open while the gateway is asked.
        booking, offering = held
        try:
            return await self._open_session(tenant, booking, offering, token, command)
        except Exception as error:
            # Whatever fails after the hold (the gateway, or the database when the session
            # is attached): a retry with the same key resumes the booking; without a key
            # nothing would, and a request the gateway refused as invalid would be refused
            # again, so the seats go back now rather than when the hold lapses. If giving
            # them back fails too, the hold still lapses; the first error is the answer.
            if command.idempotency_key is None or isinstance(error, GatewayInvalidRequest):
                with suppress(Exception):
                    await self._give_back(booking)
            raise

    async def _resume(
        self, uow: UnitOfWork, tenant: Tenant, command: StartCheckoutCommand, token: str
    ) -> tuple[Booking, Offering] | None:
        """The booking a first attempt with the same key made, under a new token; None
        without a key, or when no attempt got as far as holding seats."""
        if command.idempotency_key is None:
            return None
        booking_id = booking_id_for_key(tenant.id, command.idempotency_key)
        existing = await uow.bookings.get(tenant.id, booking_id)
        if existing is None:
            return None
        booking, offering = await self._resumable(uow, tenant, existing)
        # The first attempt's token may never have reached the customer: issue this one.
        # A form's submission carries the same token each time: then nothing changes, and
        # nothing is written (the first post, attaching its session meanwhile, would make
        # this write a ConcurrentUpdate).
        if not matches(token, booking.access_token_hash):
            booking = replace(booking, access_token_hash=hash_secret(token))
            await uow.bookings.update(booking)
        return booking, offering

    async def _hold_seats(
        self,
        uow: UnitOfWork,
        for_sale: SlotForSale,
        token: str,
        command: StartCheckoutCommand,
    ) -> tuple[Booking, Offering]:
        tenant = for_sale.tenant
        ensure_customer_may_hold_more(
            await uow.bookings.count_pending_for_customer(tenant.id, command.customer_email)
        )
        booking_id = (
            self._ids.new_id("bk")
            if command.idempotency_key is None
            else booking_id_for_key(tenant.id, command.idempotency_key)
        )
        now = self._clock.now()
        slot, offering = for_sale.slot, for_sale.offering
        if slot is None:
            raise NotFound("slot", command.slot_id)
        if offering is None:
            raise NotFound("offering", slot.offering_id)
        offering.ensure_bookable()
        offering.ensure_seats_per_booking(command.seats, self._default_max_seats, slot.capacity)
        slot.ensure_bookable_at(now)
        policy = offering.effective_fee_policy(for_sale.active_fee_policy)
        quote = policy.quote(offering.price, command.seats)
        booking = Booking(
            id=booking_id,
            tenant_id=tenant.id,
            offering_id=offering.id,
            slot_id=slot.id,
            seats=command.seats,
            starts_at=slot.starts_at,
            customer=Customer(command.customer_email, command.customer_name),
            quote=quote,
            refund_on_cancel=policy.refund_on_cancel,
            hold_expires_at=hold_expiry(now, self._hold, slot.starts_at),
            created_at=now,
            access_token_hash=hash_secret(token),
            # The terms of sale are frozen now: later edits apply to new bookings only.
            cancellation_policy=offering.cancellation_policy,
            cancel_url=command.cancel_url,
        )
        slot.require_free(command.seats)
        if not await uow.bookings.add_holding_seats(booking):
            current = await uow.slots.get(tenant.id, slot.id)
            if current is not None:
                current.ensure_bookable_at(now)  # cancelled meanwhile: say so
            available = current.seats_available if current else 0
            raise SeatsUnavailable(slot.id, command.seats, available)
        # Counted last, once the seats are held in this transaction (a refusal rolls the hold
        # back): a checkout refused for any other reason costs the client nothing, and the
        # same submission posted twice at once, whose second insert meets the first's booking
        # (AlreadyExists) and resumes it, is not counted twice.
        await self._count_for_client(command, offering, slot.id, slot.capacity)
        return booking, offering

    async def _count_for_client(
        self, command: StartCheckoutCommand, offering: Offering, slot_id: str, capacity: int
    ) -> None:
        """TooManySeatsHeldFromClient when the client put as many seats of this slot on hold
        as one booking may take, within one hold's length."""
        if self._seats_per_client is None or command.client is None:
            return
        most = offering.seats_per_booking_limit(self._default_max_seats, capacity)
        wait = await self._seats_per_client.take(
            command.client, slot_id, command.seats, most, self._hold
        )
        if wait is not None:
            retry_at = self._clock.now() + timedelta(seconds=wait)
            raise TooManySeatsHeldFromClient(slot_id, most, wait, retry_at)

    async def _open_session(
        self,
        tenant: Tenant,
        booking: Booking,
        offering: Offering,
        token: str,
        command: StartCheckoutCommand,
    ) -> CheckoutStarted:
        # Back from the checkout, the customer lands on the hosted booking page, which
        # exchanges the token for a cookie at once.
        status_url = f"{self._base_url}/booking/{booking.id}?token={token}"
        # Leaving the checkout comes back to Bookpay, which ends the hold at once and then
        # sends the customer on to the platform's cancel_url.
        left_url = f"{self._base_url}/v1/public/bookings/{booking.id}/checkout-left?token={token}"
        account_id = tenant.connect.account_id
        if account_id is None:  # ensure_can_sell() said it has one; keep mypy honest
            raise Conflict(f"tenant {tenant.id} has no connected account")
        session = await self._gateway.create_checkout_session(
            CheckoutRequest(
                tenant_id=tenant.id,
                booking_id=booking.id,
                account_id=account_id,
                charge_model=tenant.charge_model,
                line_items=line_items(offering, booking.quote, tenant, booking.starts_at),
                application_fee=booking.quote.application_fee,
                expires_at=session_expiry(booking.hold_expires_at, self._clock.now()),
                customer_email=booking.customer.email,
                success_url=command.success_url or status_url,
                cancel_url=left_url,
                fee_policy_version=booking.quote.fee_policy_version,
                idempotency_key=f"bookpay-checkout-{booking.id}",
            )
        )
        result = CheckoutStarted(
            booking_id=booking.id,
            booking_token=token,
            checkout_url=session.url or "",
            expires_at=booking.hold_expires_at,
            quote=booking.quote,
        )
        async with self._uow() as uow:
            # When the attach changes nothing, the domain says why: a different session
            # already attached is refused (the same one is a repeat).
            if not await uow.bookings.attach_session(tenant.id, booking.id, session.session_id):
                current = await uow.bookings.get(tenant.id, booking.id)
                if current is not None and current.status is BookingStatus.PENDING_PAYMENT:
                    current.attach_session(session.session_id)
            await uow.commit()
        return result

    @staticmethod
    async def _resumable(
        uow: UnitOfWork, tenant: Tenant, booking: Booking
    ) -> tuple[Booking, Offering]:
        """A retry after a failure half-way: the same booking, still holding its seats."""
        if booking.status is not BookingStatus.PENDING_PAYMENT:
            raise Conflict(
                f"the checkout for booking {booking.id} has ended ({booking.status}); "
                "use a new Idempotency-Key"
            )
        offering = await uow.offerings.get(tenant.id, booking.offering_id)
        if offering is None:
            raise NotFound("offering", booking.offering_id)
        return booking, offering

    async def _give_back(self, booking: Booking) -> None:
        """No checkout could be opened: release the seats so nothing stays blocked."""
        async with self._uow() as uow:
            current = await uow.bookings.get(booking.tenant_id, booking.id)
            if current is None or current.status is not BookingStatus.PENDING_PAYMENT:
                return
            ended = await release_seats_if_hold_ended(uow, current, current.expire())
            await uow.bookings.update(ended)
            uow.outbox.add(*booking_events(current, ended))
            await uow.commit()


def line_items(
    offering: Offering, quote: FeeQuote, tenant: Tenant, starts_at: datetime
) -> tuple[LineItem, ...]:
    """The offering × seats, plus a "Service fee" line for the customer's share of the fee.

    The offering's line names the slot's start in the tenant's timezone and the business,
    so the hosted checkout says what is being bought and from whom.
    """
    name = f"{offering.name} · {slot_label(starts_at, tenant.timezone)} · {tenant.name}"
    items = [LineItem(name, quote.unit_price, quote.seats)]
    if quote.fee_bearer is not BearerKind.TENANT and not quote.customer_fee.is_zero:
        items.append(LineItem("Service fee", quote.customer_fee, 1))
    return tuple(items)


def slot_label(starts_at: datetime, timezone: str) -> str:
    """E.g. "Tue 1 Dec 2026, 09:00 EST": the start on the tenant's clock, in English (the
    checkout page has no locale of ours; Stripe shows the name as given)."""
    local = starts_at.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def booking_id_for_key(tenant_id: str, key: str) -> str:
    """The booking a checkout with this Idempotency-Key makes, so that a retry resumes it."""
    digest = hashlib.sha256(f"{tenant_id}\0{key}".encode()).hexdigest()
    return f"bk_{digest[:24]}"
